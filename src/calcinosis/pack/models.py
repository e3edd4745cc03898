"""Typed, frozen models of the knowledge pack.

Every model forbids unknown keys, so a typo in a YAML file is a load error naming the file and field.
Every clinical statement carries ``sources``: a list of :class:`SourceRef` naming a source id from
``sources.yaml`` and, where the source has sections, the section the fact comes from.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]


class Strict(BaseModel):
    """Base for all pack records: frozen, no unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True)


class Ordered(StrEnum):
    """A vocabulary with one order: members are declared strongest, most severe or best first, and
    ``rank`` is that position (0 first). Sorting, comparing and "worst of" use it and nothing else."""

    @property
    def rank(self) -> int:
        return _ranks(type(self))[self]


_RANKS: dict[type[Ordered], dict[Ordered, int]] = {}


def _ranks(kind: type[Ordered]) -> dict[Ordered, int]:
    found = _RANKS.get(kind)
    if found is None:
        found = _RANKS[kind] = {member: i for i, member in enumerate(kind.__members__.values())}
    return found


class EvidenceLevel(Ordered):
    """The chapter's A–E scale (A strongest)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"


class AlertSeverity(Ordered):
    """Severity of a context alert, most severe first."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


class SourceKind(StrEnum):
    TEXTBOOK = "textbook"
    POINT_OF_CARE = "point-of-care"
    SYSTEMATIC_REVIEW = "systematic-review"
    NARRATIVE_REVIEW = "narrative-review"
    PRIMARY_STUDY = "primary-study"
    CASE_REPORT = "case-report"
    DRUG_LABEL = "drug-label"
    GUIDELINE = "guideline"
    TERMINOLOGY = "terminology"
    WEB = "web"
    CONFIGURATION = "configuration"


class Trust(StrEnum):
    NORMAL = "normal"
    LOW = "low"


class SourceSection(Strict):
    id: Slug
    title: str


class Identifiers(Strict):
    pmid: str | None = Field(default=None, pattern=r"^[0-9]{6,9}$")
    doi: str | None = Field(default=None, pattern=r"^10\.[0-9]{4,9}/\S+$")
    pmcid: str | None = Field(default=None, pattern=r"^PMC[0-9]+$")
    url: str | None = None


class Source(Strict):
    """A reference the pack draws on. Identifiers only where the dossier marks them seen."""

    id: Slug
    short: str
    citation: str
    kind: SourceKind
    year: int | None = None
    identifiers: Identifiers = Field(default_factory=Identifiers)
    verified: bool = True
    trust: Trust = Trust.NORMAL
    sections: tuple[SourceSection, ...] = ()
    note: str | None = None


class SourceRef(Strict):
    """Provenance of one fact: which source, which section."""

    source: Slug
    section: str | None = None
    note: str | None = None


Sourced = Annotated[tuple[SourceRef, ...], Field(min_length=1)]


class Frequency(Strict):
    text: str
    low_percent: float | None = Field(default=None, ge=0, le=100)
    high_percent: float | None = Field(default=None, ge=0, le=100)
    population: str | None = None
    sources: Sourced


class Association(Strict):
    """A condition or exposure linked to a subtype (e.g. systemic sclerosis → dystrophic)."""

    concept: Slug | None = None
    text: str
    frequencies: tuple[Frequency, ...] = ()
    sources: Sourced


class ConflictPosition(Strict):
    claim: str
    sources: Sourced


class Conflict(Strict):
    """A recorded disagreement between sources. Never resolved silently."""

    id: Slug
    topic: str
    positions: Annotated[tuple[ConflictPosition, ...], Field(min_length=2)]
    handling: str
    handling_source: SourceRef | None = None


class SubtypeCode(StrEnum):
    DYSTROPHIC = "dystrophic"
    METASTATIC = "metastatic"
    IDIOPATHIC = "idiopathic"
    IATROGENIC = "iatrogenic"
    CALCIPHYLAXIS = "calciphylaxis"
    UNDETERMINED = "undetermined"


class Subtype(Strict):
    id: Slug
    name: str
    kind: Literal["core", "variant"]
    categories: tuple[SubtypeCode, ...] = Field(min_length=1)
    definition: str
    features: tuple[str, ...] = ()
    lab_pattern: str | None = None
    presentation: str | None = None
    management_note: str | None = None
    associations: tuple[Association, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    sources: Sourced


class LabCode(Strict):
    system: Literal["http://loinc.org"] = "http://loinc.org"
    code: str = Field(pattern=r"^[0-9]{1,7}-[0-9]$")
    display: str


class WorkupItem(Strict):
    """An investigation; ``needed_when`` names work-up scenarios (see ``workup.yaml``).

    ``only_when``: predicates that must all hold for the item to be asked (e.g. dialysis adequacy only on
    dialysis); ``not_when``: predicates any of which removes it (dossier §1.5 I4). ``optional_in``: scenarios
    in which the sources call it optional. ``informs``: differential candidates (``subtype`` or
    ``subtype/variant``) the result helps to confirm or exclude, besides those the rules name."""

    id: Slug
    name: str
    kind: Literal["lab", "imaging", "histology", "genetic", "clinical"]
    analytes: tuple[Slug, ...] = ()
    codes: tuple[LabCode, ...] = ()
    purpose: str
    events: tuple[Slug, ...] = ()
    needed_when: tuple[Slug, ...] = Field(min_length=1)
    only_when: tuple[Slug, ...] = ()
    not_when: tuple[Slug, ...] = ()
    optional_in: tuple[Slug, ...] = ()
    informs: tuple[str, ...] = ()
    note: str | None = None
    sources: Sourced


class WorkupScenario(Strict):
    """A situation with its own minimum work-up. It applies when the subtype call (or an alternative) is one
    of ``subtypes``, the called variant is one of ``variants``, or any predicate in ``applies_when`` holds, unless the call's variant is one of
    ``unless_variants`` (a variant with its own, smaller work-up). A ``baseline`` scenario applies only when no
    ``specific`` scenario does (the scenario's own work-up replaces the baseline, dossier §1.5 I4); ``context``
    scenarios add to either."""

    id: Slug
    name: str
    description: str
    subtypes: tuple[SubtypeCode, ...] = ()
    applies_when: tuple[Slug, ...] = ()
    variants: tuple[Slug, ...] = ()
    unless_variants: tuple[Slug, ...] = ()
    kind: Literal["baseline", "specific", "context"] = "specific"
    sources: Sourced


class StudyDesign(StrEnum):
    RCT = "rct"
    CONTROLLED_TRIAL = "controlled-trial"
    OPEN_TRIAL = "open-trial"
    COHORT = "cohort"
    CASE_SERIES = "case-series"
    POOLED_SERIES = "pooled-series"
    CASE_REPORT = "case-report"
    SURVEY = "survey"
    REVIEW = "review"


class Blinding(StrEnum):
    DOUBLE = "double"
    SINGLE = "single"
    OPEN = "open"
    UNKNOWN = "unknown"


class Study(Strict):
    id: Slug
    label: str
    design: StudyDesign
    blinding: Blinding = Blinding.UNKNOWN
    n: int | None = Field(default=None, ge=1)
    population: str
    outcome: str
    settings: tuple[Slug, ...] = ()
    verified: bool = True
    sources: Sourced


class LineName(Ordered):
    """A line of therapy as a source states it, earliest line first."""

    PREFERRED = "preferred"
    FIRST = "first"
    SECOND = "second"
    THIRD = "third"
    NOT_RECOMMENDED = "not-recommended"


class LineStatement(Strict):
    """A line of therapy as one source states it (never inferred)."""

    line: LineName
    setting: Slug | None = None
    stated_level: EvidenceLevel | None = None
    note: str | None = None
    source: SourceRef


class StatedLevel(Strict):
    """A level stated by a source on another scale (e.g. modified OCEBM)."""

    scale: Literal["ocebm-modified", "textbook-a-e", "other"]
    level: str
    direction: Literal["for", "against", "neutral"] = "for"
    note: str | None = None
    source: SourceRef


class Applicability(Ordered):
    """How a therapy fits a setting, best fit first."""

    STUDIED = "studied"
    LISTED = "listed"
    AVOID = "avoid"


class SettingFit(Strict):
    """How a therapy relates to one clinical setting (the dossier's applicability matrix)."""

    setting: Slug
    fit: Applicability
    note: str | None = None
    sources: Sourced


class CautionSeverity(Ordered):
    """Most severe first."""

    CONTRAINDICATION = "contraindication"
    WARNING = "warning"
    MONITOR = "monitor"
    INFO = "info"


class Caution(Strict):
    """A safety fact. ``when`` names patient-context triggers evaluated by the engine."""

    id: Slug
    text: str
    severity: CautionSeverity
    when: tuple[Slug, ...] = ()
    verified: bool = True
    sources: Sourced


class DoseNote(Strict):
    text: str
    sources: Sourced


class Therapy(Strict):
    id: Slug
    name: str
    kind: Literal["drug", "procedure", "supportive", "strategy"]
    aliases: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    mechanism: str
    mechanism_sources: Sourced
    settings: tuple[SettingFit, ...] = ()
    lines: tuple[LineStatement, ...] = ()
    stated_levels: tuple[StatedLevel, ...] = ()
    studies: tuple[Study, ...] = ()
    cautions: tuple[Caution, ...] = ()
    doses_reported: tuple[DoseNote, ...] = ()
    targets: tuple[Slug, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    summary: str
    summary_sources: Sourced


class ContextAlert(Strict):
    """A combination/context alert (dossier §4.1, §5.7) about this patient's current state.

    ``therapies`` are the options it concerns (shown with it); ``against`` are those whose stance it lowers
    (critical: avoid; warning: use with caution). An alert is not shown when one of ``superseded_by`` fires,
    because that alert says the same and more."""

    id: Slug
    trigger: tuple[Slug, ...] = Field(min_length=1)
    severity: AlertSeverity
    text: str
    therapies: tuple[Slug, ...] = ()
    against: tuple[Slug, ...] = ()
    superseded_by: tuple[Slug, ...] = ()
    verified: bool = True
    sources: Sourced


class SubtypeRule(Strict):
    """A weighed finding for one differential candidate (dossier §1.4 rules read as §1.5 says).

    ``role`` support adds ``weight`` to the candidate ``subtype``/``variant``; oppose subtracts it (an
    oppose rule without a variant also applies to the subtype's variants when ``applies_to_variants``).
    Within a ``group`` only the heaviest matching finding counts, so risk context cannot pile up into a
    derangement. ``follows_record``: the finding is a diagnosis the clinician recorded. ``decided_by``:
    work-up items whose result settles the finding when it cannot be judged yet."""

    id: Slug
    title: str
    subtype: SubtypeCode
    variant: Slug | None = None
    all_of: tuple[Slug, ...] = ()
    any_of: tuple[Slug, ...] = ()
    none_of: tuple[Slug, ...] = ()
    confidence: Literal["high", "medium", "low"]
    role: Literal["support", "oppose"] = "support"
    weight: int = Field(ge=1, le=12)
    group: Slug | None = None
    follows_record: bool = False
    applies_to_variants: bool = True
    except_variants: tuple[Slug, ...] = ()
    decided_by: tuple[Slug, ...] = ()
    caveat: str | None = None
    sources: Sourced


class ReferenceInterval(Strict):
    """A reference interval, optionally for an age band (days, lower bound inclusive) and sex. Intervals are
    site configuration: an interval without an age band is the adult default."""

    analyte: Slug
    unit: str
    low: float | None = None
    high: float | None = None
    age_min_days: float | None = Field(default=None, ge=0)
    age_max_days: float | None = Field(default=None, gt=0)
    sex: Literal["female", "male"] | None = None
    population: str | None = None
    note: str | None = None
    sources: Sourced

    @property
    def paediatric(self) -> bool:
        return self.age_max_days is not None


class Scoring(Strict):
    """How weighed findings become a call: thresholds on a candidate's score and its lead over the next."""

    call_threshold: int = Field(ge=1)
    medium_score: int = Field(ge=1)
    high_score: int = Field(ge=1)
    high_margin: int = Field(ge=0)
    note: str
    sources: Sourced


class RankingRule(Strict):
    """A context reading that reorders or limits therapy options (dossier §1.5 I3, I5, I6).

    When every ``when`` predicate holds, no ``unless`` predicate does and (if ``settings`` are named) the
    patient is in one of those settings: ``lead`` options are listed (even
    outside the patient's setting), raised to ``recommended`` unless a caution forbids it, and ranked first;
    ``therapies`` and every other option whose kind is in ``limit_kinds`` are held at ``max_stance`` or
    below."""

    id: Slug
    when: tuple[Slug, ...] = ()
    unless: tuple[Slug, ...] = ()
    settings: tuple[Slug, ...] = ()
    lead: tuple[Slug, ...] = ()
    therapies: tuple[Slug, ...] = ()
    limit_kinds: tuple[Literal["drug", "procedure", "supportive", "strategy"], ...] = ()
    max_stance: Literal["recommended", "consider", "use-with-caution", "avoid"] | None = None
    text: str
    sources: Sourced


class RiskContext(Strict):
    """A patient context that puts someone at risk of a calcinosis subtype, with what to watch for."""

    id: Slug
    any_of: tuple[Slug, ...] = Field(min_length=1)
    subtypes: tuple[SubtypeCode, ...] = Field(min_length=1)
    watch_for: str
    sources: Sourced


class PackMeta(Strict):
    id: Slug
    title: str
    version: str
    last_reviewed: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    publisher: str
    grading_system: str
    disclaimer: str
    cap_threshold_warn: float
    cap_threshold_strong: float
    cap_threshold_sources: Sourced
    albumin_correction: str
    albumin_correction_sources: Sourced


class OutcomeMeasure(Strict):
    """A numeric outcome measure (dossier §6): the Measurement field it reads and its response thresholds.

    ``better`` says which direction is improvement; improved when the change from baseline reaches
    ``improve_percent`` in that direction (0: any strict improvement); worse when it passes
    ``worsen_percent`` the other way (only where a source defines progression)."""

    id: Slug
    name: str
    field: Literal["count", "largest_mm", "sctc_score", "pain_vas", "patient_global", "physician_global"]
    better: Literal["lower", "higher"]
    improve_percent: float = Field(ge=0)
    worsen_percent: float | None = Field(default=None, gt=0)
    requires_no_new_lesions: bool = False
    min_follow_up_days: int = Field(ge=0)
    text: str
    sources: Sourced


class EpisodeRule(Strict):
    fields: tuple[Literal["ulceration", "inflammation", "infection", "new_lesions"], ...]
    text: str
    sources: Sourced


class CategoryRule(Strict):
    text: str
    sources: Sourced


class AdequateCourse(Strict):
    therapy: Slug
    days: int = Field(gt=0)
    note: str
    sources: Sourced


class OutcomeRules(Strict):
    """How a course's response is computed from visit measurements (``outcomes.yaml``)."""

    measures: tuple[OutcomeMeasure, ...] = Field(min_length=1)
    episodes: EpisodeRule
    categories: CategoryRule
    review_interval_days: int = Field(gt=0)
    window_after_stop_days: int = Field(ge=0)
    adequate_days_default: int = Field(gt=0)
    adequate_days: tuple[AdequateCourse, ...] = ()
    configuration_sources: Sourced

    def adequate_for(self, therapy_id: str) -> int:
        for a in self.adequate_days:
            if a.therapy == therapy_id:
                return a.days
        return self.adequate_days_default
