"""The Assessment: the engine's output and the public JSON contract (docs/assessment.md).

Field names and enum values are part of the contract; add fields, never rename or remove them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from calcinosis.pack.models import EvidenceLevel, SubtypeCode

SCHEMA_VERSION = "1.0"


class Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Citation(Out):
    """A source as shown to a clinician: enough to find and check it."""

    id: str
    short: str
    citation: str
    section: str | None = None
    note: str | None = None
    pmid: str | None = None
    doi: str | None = None
    url: str | None = None
    verified: bool = True


class Basis(Out):
    """Why a conclusion was reached: the rules that fired, the facts they read, the sources behind them."""

    rules: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()
    sources: tuple[Citation, ...] = ()


class Reason(Out):
    text: str
    basis: Basis


class SubtypeAlternative(Out):
    code: SubtypeCode
    variant: str | None = None
    confidence: Literal["high", "medium", "low"]
    reasons: tuple[Reason, ...]


class SubtypeCall(Out):
    code: SubtypeCode
    variant: str | None = None
    name: str
    confidence: Literal["high", "medium", "low", "none"]
    reasons: tuple[Reason, ...]
    alternatives: tuple[SubtypeAlternative, ...] = ()


class WorkupStatus(StrEnum):
    MISSING = "missing"
    DONE = "done"
    ABNORMAL = "abnormal"


class WorkupEntry(Out):
    id: str
    name: str
    kind: str
    status: WorkupStatus
    why: str
    result: str | None = None
    basis: Basis


class Stance(StrEnum):
    RECOMMENDED = "recommended"
    CONSIDER = "consider"
    USE_WITH_CAUTION = "use-with-caution"
    AVOID = "avoid"


class CautionOut(Out):
    id: str
    text: str
    severity: str
    patient_specific: bool
    applies_when: tuple[str, ...] = ()
    triggered_by: tuple[str, ...] = ()
    verified: bool = True
    sources: tuple[Citation, ...]


class StatedLevelOut(Out):
    scale: str
    level: str
    direction: str = "for"
    source: Citation


class EvidenceOut(Out):
    """Derived A–E level (from recorded studies), the levels sources state, and how they compare."""

    derived: EvidenceLevel | None
    stated: tuple[StatedLevelOut, ...] = ()
    shown: EvidenceLevel | None
    shown_from: Literal["derived", "stated", "none"]
    studies: int
    largest_n: int | None = None


class ConflictOut(Out):
    id: str
    topic: str
    positions: tuple[str, ...]
    handling: str


class TherapyOption(Out):
    id: str
    name: str
    rank: int
    stance: Stance
    line: str | None
    evidence_level: EvidenceLevel | None
    evidence: EvidenceOut
    fit: str
    rationale: tuple[str, ...]
    cautions: tuple[CautionOut, ...] = ()
    conflicts: tuple[ConflictOut, ...] = ()
    already_receiving: bool = False
    basis: Basis


class Alert(Out):
    id: str
    severity: Literal["critical", "warning", "info"]
    text: str
    therapies: tuple[str, ...] = ()
    basis: Basis


class KnowledgeInfo(Out):
    pack: str
    version: str
    content_hash: str
    last_reviewed: str
    grading_system: str


class FactUsed(Out):
    id: str
    kind: str
    text: str
    value: str | None = None
    date: str | None = None


class IssueOut(Out):
    location: str
    message: str
    severity: Literal["warning", "information"] = "warning"


class Assessment(Out):
    schema_version: str = SCHEMA_VERSION
    patient_id: str | None = None
    subtype: SubtypeCall
    workup: tuple[WorkupEntry, ...]
    therapies: tuple[TherapyOption, ...]
    alerts: tuple[Alert, ...]
    knowledge: KnowledgeInfo
    facts_used: tuple[FactUsed, ...]
    input_issues: tuple[IssueOut, ...]
    disclaimer: str
