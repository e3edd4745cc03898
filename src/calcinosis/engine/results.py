"""The Assessment: the engine's output and the public JSON contract (docs/assessment.md).

Field names and enum values are part of the contract; add fields, never rename or remove them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from calcinosis.pack.labels import LabelContext, LabelSeverity
from calcinosis.pack.models import AlertSeverity, CautionSeverity, EvidenceLevel, Ordered, SubtypeCode

SCHEMA_VERSION = "1.1"


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
    follows_record: bool = False
    would_change: tuple[str, ...] = ()


class FindingOut(Out):
    """One weighed finding of the differential: a rule that matched (or could, once a test is done)."""

    rule: str
    text: str
    weight: int
    facts: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()


class Candidate(Out):
    """A subtype or variant in the weighed differential, with what supports, opposes and is still missing."""

    key: str
    code: SubtypeCode
    variant: str | None = None
    name: str
    rank: int
    score: int
    confidence: Literal["high", "medium", "low", "none"]
    supporting: tuple[FindingOut, ...] = ()
    opposing: tuple[FindingOut, ...] = ()
    missing: tuple[FindingOut, ...] = ()
    basis: Basis


class NextTest(Out):
    """The missing investigation that best separates the two leading candidates."""

    workup_id: str
    name: str
    separates: tuple[str, ...]
    why: str


class CalcinosisEvidence(Out):
    """Whether calcinosis itself is recorded (a lesion, a diagnosis, imaging or histology)."""

    recorded: bool
    text: str
    facts: tuple[str, ...] = ()


class RiskItem(Out):
    id: str
    subtypes: tuple[SubtypeCode, ...]
    watch_for: str
    basis: Basis


class PatientContext(Out):
    """Facts about the patient the rest of the assessment uses (age group, pregnancy, breastfeeding, kidney)."""

    age_years: float | None = None
    age_group: Literal["neonate", "infant", "child", "adult", "unknown"] = "unknown"
    sex: str = "unknown"
    pregnant: bool | None = None
    breastfeeding: bool | None = None
    severe_renal_impairment: bool = False


class LabelFactOut(Out):
    """What a drug label says for one patient context (drug-labels.md), or that nothing is recorded."""

    context: LabelContext
    drug: str | None = None
    status: Literal["recorded", "not-recorded", "not-a-drug"]
    severity: LabelSeverity | None = None
    text: str
    label: str | None = None
    verified: bool = False
    sources: tuple[Citation, ...] = ()


class MedicationSafety(Out):
    """Label facts for one current medication in this patient's context."""

    medication: str
    fact_id: str
    facts: tuple[LabelFactOut, ...]


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
    separates: tuple[str, ...] = ()
    optional: bool = False
    basis: Basis


class Stance(Ordered):
    """What the assessment says about a therapy for this patient, best first."""

    RECOMMENDED = "recommended"
    CONSIDER = "consider"
    USE_WITH_CAUTION = "use-with-caution"
    AVOID = "avoid"


class CautionOut(Out):
    id: str
    text: str
    severity: CautionSeverity
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


class LocalEvidenceOut(Out):
    """This clinic's own results with an option (its registry), shown beside the published evidence and never
    mixed into it: the A–E level is derived from published studies only."""

    source: Literal["local-registry"] = "local-registry"
    subtype: str | None = None
    courses: int
    patients: int
    small_numbers: bool
    text: str
    caution: str | None = None
    note: str


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
    courses: tuple[str, ...] = ()
    label_facts: tuple[LabelFactOut, ...] = ()
    local_evidence: LocalEvidenceOut | None = None
    basis: Basis


class Alert(Out):
    id: str
    severity: AlertSeverity
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


class MeasureResult(Out):
    """One outcome measure of one course: baseline against the latest follow-up, judged by the pack's rule."""

    measure: str
    name: str
    result: Literal["response", "no-response", "worse", "not-judged"]
    site: str | None = None
    baseline: str | None = None
    latest: str | None = None
    change_percent: float | None = None
    text: str
    basis: Basis


class CourseResponse(Out):
    """A treatment course with its response computed from the visits (dossier §6), never typed in."""

    course_id: str
    therapy: str
    agent: str | None = None
    start: str
    stop: str | None = None
    running: bool
    duration_days: int
    category: Literal["complete", "partial", "none", "progression", "not-judged"]
    category_basis: str
    measures: tuple[MeasureResult, ...] = ()
    adequate: bool | None = None
    adequate_days: int
    adverse_events: tuple[str, ...] = ()
    stop_reason: str | None = None
    next_measurement_due: str | None = None
    basis: Basis


class History(Out):
    courses: tuple[CourseResponse, ...] = ()


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
    calcinosis: CalcinosisEvidence = CalcinosisEvidence(recorded=True, text="")
    differential: tuple[Candidate, ...] = ()
    next_test: NextTest | None = None
    risk_profile: tuple[RiskItem, ...] = ()
    patient_context: PatientContext = PatientContext()
    medication_safety: tuple[MedicationSafety, ...] = ()
    history: History | None = None
