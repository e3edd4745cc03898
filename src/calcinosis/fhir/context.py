"""What the resource readers share while reading one input: vocabulary, index, facts and issues."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from calcinosis.fhir.bundle import Entry, OpenedBundle
from calcinosis.fhir.treatment import TherapyMatcher, therapy_matcher
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.patient.codes import Vocabulary
from calcinosis.patient.models import (
    AdverseEvent,
    Allergy,
    Coding,
    Condition,
    Course,
    Event,
    InputIssue,
    Lab,
    Lesion,
    Medication,
)

# Elements every reader may pass over without comment: identity, bookkeeping, who and where.
ADMINISTRATIVE = frozenset(
    {
        "resourceType",
        "id",
        "meta",
        "implicitRules",
        "language",
        "text",
        "contained",
        "identifier",
        "subject",
        "patient",
        "encounter",
        "context",
        "recorder",
        "asserter",
        "performer",
        "requester",
        "informationSource",
        "basedOn",
        "partOf",
        "category",
        "issued",
        "recordedDate",
        "dateAsserted",
        "derivedFrom",
        "specimen",
        "device",
        "location",
        "reasonCode",
        "reasonReference",
        "groupIdentifier",
        "priority",
        "intent",
        "statusReason",
        "dispenseRequest",
        "substitution",
        "courseOfTherapyType",
        "insurance",
    }
)

LESION_CONCEPTS = frozenset(
    {"calcinosis-cutis", "calciphylaxis", "tumoral-calcinosis", "hyperphosphataemic-tumoral-calcinosis"}
)


@dataclass
class CourseRead:
    """A treatment course with the resources it was read from (adverse events point at them)."""

    course: Course
    source: dict[str, Any]
    medication: dict[str, Any] | None
    where: str


@dataclass
class AdverseEventRead:
    """An AdverseEvent waiting to be attached to its course once every resource has been read."""

    event: AdverseEvent
    targets: list[dict[str, Any]]
    words: str
    where: str


@dataclass
class MeasurePart:
    """One measure of one visit (an Observation), combined by date and site into a Measurement."""

    day: date
    site: str | None
    field: str
    value: float | bool
    key: str
    where: str


@dataclass
class Context:
    vocab: Vocabulary
    opened: OpenedBundle
    as_of: date | None
    issues: list[InputIssue] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    labs: list[Lab] = field(default_factory=list)
    lesions: list[Lesion] = field(default_factory=list)
    medications: list[Medication] = field(default_factory=list)
    history: list[Event] = field(default_factory=list)
    allergies: list[Allergy] = field(default_factory=list)
    pregnancy: list[tuple[date | None, bool, str]] = field(default_factory=list)
    courses: list[CourseRead] = field(default_factory=list)
    adverse_events: list[AdverseEventRead] = field(default_factory=list)
    measure_parts: list[MeasurePart] = field(default_factory=list)
    pack: KnowledgePack | None = None

    def issue(
        self, location: str, message: str, severity: Literal["warning", "information"] = "warning"
    ) -> None:
        self.issues.append(InputIssue(location=location, message=message, severity=severity))

    def usable(self, entry: Entry) -> bool:
        """False (with an issue) when a modifier extension could change the meaning of the resource."""
        if entry.resource.get("modifierExtension"):
            self.issue(
                f"{entry.where}.modifierExtension",
                "a modifier extension that is not understood may change the meaning; resource not used",
            )
            return False
        return True

    def unused(self, entry: Entry, read: frozenset[str] | set[str]) -> None:
        """Report elements that are present but not read (never dropped silently)."""
        rest = sorted(
            k for k in entry.resource if not k.startswith("_") and k not in ADMINISTRATIVE and k not in read
        )
        if rest:
            self.issue(entry.where, f"element(s) not used: {', '.join(rest)}", "information")

    def concepts(self, codes: tuple[Coding, ...], text: str, kinds: set[str] | None = None) -> list[str]:
        """Most specific concept ids from codes, falling back to the words of ``text``.

        Codes first. The text is read when no coding is in the code sets; with a code, it may only refine an
        event the code gives to a narrower one (a "dialysis procedure" whose text says haemodialysis, an
        extravasation whose text names calcium), never add a concept the code does not imply.
        """
        found: set[str] = set()
        for c in codes:
            found |= self.vocab.concepts_for_coding(c.system, c.code)
        if found:
            found |= self._narrower_events(found, text)
        else:
            found = self.vocab.concepts_in_text(text)
        if kinds is not None:
            found = {c for c in found if self.vocab.kind_of(c) in kinds}
        return self.vocab.most_specific(found)

    def _narrower_events(self, coded: set[str], text: str) -> set[str]:
        events = {c for c in coded if self.vocab.kind_of(c) == "event"}
        if not events or not text:
            return set()
        named = self.vocab.concepts_in_text(text, "event")
        return {t for t in named if t not in coded and self.vocab.implied({t}) & events}

    def mark(self) -> tuple[int, ...]:
        """Where each list of facts ends now (to undo a resource that turned out unreadable)."""
        return tuple(len(x) for x in self._facts())

    def rollback(self, mark: tuple[int, ...]) -> None:
        for facts, size in zip(self._facts(), mark, strict=True):
            del facts[size:]

    def _facts(self) -> tuple[list[Any], ...]:
        return (
            self.conditions,
            self.labs,
            self.lesions,
            self.medications,
            self.history,
            self.allergies,
            self.pregnancy,
            self.courses,
            self.adverse_events,
            self.measure_parts,
        )

    def therapies(self) -> TherapyMatcher:
        """The pack's therapies by name (the bundled pack unless one was given), loaded on first use."""
        if self.pack is None:
            from calcinosis.pack.loader import load_pack_cached

            self.pack = load_pack_cached()
        return therapy_matcher(self.pack)

    def resolve(self, reference: Any, holder: Entry) -> dict[str, Any] | None:
        return self.opened.resolve(reference, holder)
