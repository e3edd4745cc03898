"""The loaded knowledge pack: validated records plus what is derived from them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from calcinosis.pack.labels import LabelBook
from calcinosis.pack.models import (
    Conflict,
    ContextAlert,
    EvidenceLevel,
    OutcomeRules,
    PackMeta,
    RankingRule,
    ReferenceInterval,
    RiskContext,
    Scoring,
    Slug,
    Source,
    Sourced,
    Strict,
    Subtype,
    SubtypeRule,
    Therapy,
    WorkupItem,
    WorkupScenario,
)


class Setting(Strict):
    """A clinical setting therapies are studied in (e.g. dystrophic calcinosis in systemic sclerosis)."""

    id: Slug
    name: str
    subtype: str
    general_lines_apply: bool = False
    sources: Sourced


class Predicate(Strict):
    """A named patient-fact test used by rules, cautions and alerts; implemented by the engine."""

    id: Slug
    description: str


class TherapyEvidence(BaseModel):
    """Derived evidence of one therapy: the A–E level from its studies and level conflicts."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    derived: EvidenceLevel | None
    conflicts: tuple[Conflict, ...]


class KnowledgePack(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    meta: PackMeta
    content_hash: str
    sources: dict[str, Source]
    settings: dict[str, Setting]
    predicates: dict[str, Predicate]
    subtypes: dict[str, Subtype]
    scenarios: dict[str, WorkupScenario]
    workup: dict[str, WorkupItem]
    rules: tuple[SubtypeRule, ...]
    alerts: tuple[ContextAlert, ...]
    conflicts: tuple[Conflict, ...]
    reference_intervals: dict[str, tuple[ReferenceInterval, ...]]
    scoring: Scoring
    ranking_rules: tuple[RankingRule, ...]
    risk_contexts: tuple[RiskContext, ...]
    labels: LabelBook
    outcomes: OutcomeRules
    therapies: dict[str, Therapy]
    evidence: dict[str, TherapyEvidence]

    @property
    def short_hash(self) -> str:
        return self.content_hash[:12]

    def textbook_level(self, therapy_id: str) -> EvidenceLevel | None:
        """The A–E level the seed chapter states for a therapy, if it states one."""
        for line in self.therapies[therapy_id].lines:
            if line.stated_level is not None:
                return line.stated_level
        return None

    def all_conflicts(self, therapy_id: str) -> tuple[Conflict, ...]:
        return self.therapies[therapy_id].conflicts + self.evidence[therapy_id].conflicts
