"""The vocabulary rules look for, and the standard codes that map to it.

Two data files, both read once per process:

- ``concepts.yaml``: concept ids (conditions, events, medications) with the words that name them in free text
  and the broader concepts each one implies.
- ``code-sets.yaml``: ICD-10-CM, ICD-10 (WHO), SNOMED CT, LOINC and RxNorm codes mapped to those concept ids
  or to lab analyte ids, each code set with its source.

Public API (shared with the engine): :func:`load_vocabulary`, :func:`concepts_for_coding`,
:func:`concepts_in_text`. Text matching is case-insensitive on word boundaries, except that short
abbreviations (one word of four characters or fewer, e.g. "ALL", "DM", "HD") only match when the text does not
write them all in lower case, so that "pain in all fingers" is not read as leukaemia.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from calcinosis.datacache import cached, package_code, safe_yaml
from calcinosis.errors import PackError
from calcinosis.patient.vocabulary import load_vocabulary as text_vocabulary

Kind = Literal["condition", "event", "medication"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Concept(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    kind: Kind
    synonyms: tuple[str, ...] = ()
    implies: tuple[str, ...] = ()


class CodeSystem(_Strict):
    id: str
    uri: str
    name: str
    source: str
    hierarchical: bool = False
    aliases: tuple[str, ...] = ()


class CodeEntry(_Strict):
    code: str
    display: str
    concept: str
    descendants: bool = False
    checked: str | None = None
    also_names: str | None = None


class LabCode(_Strict):
    code: str
    display: str
    analyte: str
    checked: str | None = None


class StatusCode(_Strict):
    system: str
    code: str
    display: str
    checked: str | None = None


class PregnancyAnswer(StatusCode):
    pregnant: bool


class LesionCode(_Strict):
    code: str
    display: str
    descendants: bool = False


class LesionFindings(_Strict):
    icd_10_cm: tuple[LesionCode, ...] = Field(default=(), alias="icd-10-cm")
    words: tuple[str, ...] = ()


class PregnancyStatus(_Strict):
    code: StatusCode
    answers: tuple[PregnancyAnswer, ...]


class IvRoute(_Strict):
    codes: tuple[StatusCode, ...] = ()
    words: tuple[str, ...] = ()


class Exposures(_Strict):
    """Medications that are iatrogenic exposures when given intravenously, and exposures read from notes."""

    iv_medications: dict[str, str] = Field(default_factory=dict)
    iv_route: IvRoute = IvRoute()
    parenteral_forms: tuple[str, ...] = ()
    note_events: tuple[str, ...] = ()


class BodySiteCode(StatusCode):
    site: str


class CodeSets(_Strict):
    systems: tuple[CodeSystem, ...]
    codes: dict[str, tuple[CodeEntry, ...]]
    labs: tuple[LabCode, ...]
    pregnancy_status: PregnancyStatus
    lesion_findings: LesionFindings = LesionFindings()
    panels: tuple[str, ...] = ()
    unit_aliases: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    exposures: Exposures = Exposures()
    body_sites: tuple[BodySiteCode, ...] = ()


def normalise_code(code: str, hierarchical: bool) -> str:
    code = code.strip().upper()
    return code.replace(".", "") if hierarchical else code


def _matcher(names: dict[str, str]) -> re.Pattern[str] | None:
    if not names:
        return None
    alternatives = sorted(names, key=lambda s: (-len(s), s))
    return re.compile(r"(?<![\w])(" + "|".join(re.escape(a) for a in alternatives) + r")(?![\w])", re.I)


def _is_abbreviation(word: str) -> bool:
    return len(word) <= 4 and " " not in word


class Vocabulary:
    """Concepts, code sets and analytes, with the lookups the FHIR reader and the engine need."""

    def __init__(self, concepts: tuple[Concept, ...], sets: CodeSets) -> None:
        self.concepts: dict[str, Concept] = {c.id: c for c in concepts}
        self.code_sets = sets
        self.systems: dict[str, CodeSystem] = {}
        for system in sets.systems:
            for uri in (system.uri, *system.aliases):
                self.systems[uri] = system
        self.system_uris: dict[str, str] = {s.id: s.uri for s in sets.systems}
        self._exact: dict[tuple[str, str], set[str]] = {}
        self._families: dict[str, list[tuple[str, str]]] = {}
        for set_id, entries in sets.codes.items():
            hierarchical = next(s.hierarchical for s in sets.systems if s.id == set_id)
            for e in entries:
                key = normalise_code(e.code, hierarchical)
                self._exact.setdefault((set_id, key), set()).add(e.concept)
                if e.descendants:
                    self._families.setdefault(set_id, []).append((key, e.concept))
        self.labs: dict[str, LabCode] = {lab.code: lab for lab in sets.labs}
        self.panels = frozenset(sets.panels)
        self._lesion_codes = [
            (normalise_code(c.code, True), c.descendants) for c in sets.lesion_findings.icd_10_cm
        ]
        self._lesion_words = _matcher({w.lower(): w for w in sets.lesion_findings.words})
        self._unit_groups: dict[str, tuple[str, ...]] = {}
        for canonical, spellings in sets.unit_aliases.items():
            group = (canonical, *spellings)
            for spelling in group:
                self._unit_groups[spelling.strip().lower()] = group
        exposures = sets.exposures
        self.iv_medications: dict[str, str] = dict(exposures.iv_medications)
        self.note_events = frozenset(exposures.note_events)
        self._iv_codes = {(c.system, c.code) for c in exposures.iv_route.codes}
        self._iv_words = _matcher({w.lower(): w for w in exposures.iv_route.words})
        self._parenteral = _matcher({w.lower(): w for w in exposures.parenteral_forms})
        self._body_sites = {(b.system, b.code): b.site for b in sets.body_sites}

    # ------------------------------------------------------------------ codes
    def system_id(self, uri: str | None) -> str | None:
        system = self.systems.get((uri or "").strip())
        return system.id if system else None

    def concepts_for_coding(self, system: str | None, code: str | None) -> set[str]:
        """Concept ids for one coding (system as a URI or a code-set id); empty when not known."""
        set_id = self.system_id(system) or (system if system in self.system_uris else None)
        if set_id is None or not code:
            return set()
        hierarchical = next(s.hierarchical for s in self.code_sets.systems if s.id == set_id)
        key = normalise_code(code, hierarchical)
        found = set(self._exact.get((set_id, key), set()))
        for prefix, concept in self._families.get(set_id, []):
            if key.startswith(prefix) and key != prefix:
                found.add(concept)
        return found

    def is_lesion_finding(self, codes: list[tuple[str, str]], text: str | None) -> bool:
        """True when (system, code) pairs or the text name a skin lesion without a diagnosis."""
        for system, code in codes:
            if self.system_id(system) != "icd-10-cm":
                continue
            key = normalise_code(code, True)
            if any(key == c or (desc and key.startswith(c)) for c, desc in self._lesion_codes):
                return True
        return bool(text and self._lesion_words and self._lesion_words.search(text))

    def pregnancy_answer(self, system: str | None, code: str | None) -> bool | None:
        set_id = self.system_id(system)
        for answer in self.code_sets.pregnancy_status.answers:
            if answer.system == set_id and answer.code == (code or "").strip():
                return answer.pregnant
        return None

    def is_pregnancy_status(self, system: str | None, code: str | None) -> bool:
        status = self.code_sets.pregnancy_status.code
        return self.system_id(system) == status.system and (code or "").strip() == status.code

    def known_system(self, uri: str | None) -> bool:
        """True for a code system the code sets cover (a code of it that is not listed is not ours)."""
        return self.system_id(uri) is not None

    def is_iv_route(self, codes: list[tuple[str, str]], text: str | None) -> bool:
        """True when a route's codings or words say intravenous."""
        if any((self.system_id(system), code.strip()) in self._iv_codes for system, code in codes):
            return True
        return bool(text and self._iv_words and self._iv_words.search(text))

    def is_parenteral_form(self, product: str | None) -> bool:
        """True when a product's name describes a form given by injection or infusion."""
        return bool(product and self._parenteral and self._parenteral.search(product))

    def body_site_word(self, system: str | None, code: str | None) -> str | None:
        """The lesion vocabulary's word for a body-site coding, when the code sets list it."""
        return self._body_sites.get((self.system_id(system) or "", (code or "").strip()))

    # ------------------------------------------------------------------ text
    def concepts_in_text(self, text: str | None, kind: str | None = None) -> set[str]:
        """Concept ids named in ``text`` (optionally only of one kind): the engine's own matcher, so the
        FHIR reader and the engine read free text the same way (longest phrase first, negation, short
        abbreviations only when not written in lower case)."""
        if not text or kind not in (None, "condition", "event", "medication"):
            return set()
        return text_vocabulary().find(text, kind)  # type: ignore[arg-type]

    def implied(self, ids: set[str]) -> set[str]:
        """``ids`` plus every broader concept they imply."""
        return text_vocabulary().expand(ids)

    def most_specific(self, ids: set[str]) -> list[str]:
        """Drop concepts implied by another one in ``ids``; sorted for determinism."""
        broader = {b for cid in ids for b in self.implied({cid}) - {cid}}
        return sorted(ids - broader)

    def kind_of(self, concept_id: str) -> str | None:
        concept = self.concepts.get(concept_id)
        return concept.kind if concept else None

    # ------------------------------------------------------------------ labs
    def unit_spellings(self, unit: str) -> tuple[str, ...]:
        """``unit`` and the other spellings of the same unit, to try against a unit table."""
        raw = unit.strip()
        group = self._unit_groups.get(raw.lower(), ())
        return tuple(dict.fromkeys((raw, *group)))


def data_file(name: str) -> Traversable:
    return resources.files("calcinosis.patient") / "data" / name


def _read(name: str) -> Any:
    from yaml import YAMLError

    path = data_file(name)
    try:
        return safe_yaml(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as exc:
        raise PackError(f"patient/data/{name}: cannot be read ({exc})") from exc


@cache
def load_vocabulary() -> Vocabulary:
    """Read ``concepts.yaml`` and ``code-sets.yaml`` (once per process; from the validated cache when it was
    built from these files by this code, see :mod:`calcinosis.datacache`)."""
    files = [data_file("concepts.yaml"), data_file("code-sets.yaml")]
    return cached("patient-codes", files, package_code(__file__), _build_vocabulary, Vocabulary)


def _build_vocabulary() -> Vocabulary:
    raw_concepts = _read("concepts.yaml")
    raw_sets = _read("code-sets.yaml")
    try:
        concepts = tuple(Concept.model_validate(c) for c in raw_concepts["concepts"])
        sets = CodeSets.model_validate(raw_sets)
    except (KeyError, TypeError, ValueError) as exc:
        raise PackError(f"patient/data: invalid vocabulary or code sets: {exc}") from exc
    return Vocabulary(concepts, sets)


def concepts_for_coding(system: str, code: str) -> set[str]:
    """Concept ids for a coding, e.g. ``(".../sid/icd-10-cm", "L94.2")`` → calcinosis-cutis."""
    return load_vocabulary().concepts_for_coding(system, code)


def concepts_in_text(text: str, kind: str | None = None) -> set[str]:
    """Concept ids named in free text, e.g. "CREST syndrome" → limited-systemic-sclerosis."""
    return load_vocabulary().concepts_in_text(text, kind)
