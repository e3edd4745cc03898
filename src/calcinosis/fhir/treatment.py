"""Data behind treatment courses and visit measurements in FHIR (``data/courses.yaml``, ``data/measures.yaml``).

- :func:`load_measures`: each measure's project code, LOINC codes (checked, see the YAML), value kind and
  accepted names; yes/no answers; units.
- :func:`load_course_terms`: route words and stop-reason words.
- :class:`TherapyMatcher`: which pack therapy a medication names (name, aliases, agents), told apart by
  route where therapies share an agent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from calcinosis.errors import PackError
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.models import Therapy
from calcinosis.patient.matching import TermMatcher

StopReason = Literal["ineffective", "adverse-event", "resolved", "patient-choice", "other"]
STOP_REASONS: tuple[StopReason, ...] = ("ineffective", "adverse-event", "resolved", "patient-choice", "other")
STOP_REASON_DISPLAY: dict[StopReason, str] = {
    "ineffective": "Ineffective",
    "adverse-event": "Adverse event",
    "resolved": "Resolved",
    "patient-choice": "Patient choice",
    "other": "Other",
}
ABBREVIATION_MAX = 4


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LoincCode(_Strict):
    code: str
    display: str
    checked: str


class Measure(_Strict):
    field: str
    code: str
    display: str
    definition: str
    value: Literal["integer", "length", "score", "boolean"]
    low: float | None = None
    high: float | None = None
    loinc: tuple[LoincCode, ...] = ()
    loinc_needs_site: bool = False
    words: tuple[str, ...] = ()


class AnswerCode(_Strict):
    system: str
    code: str
    display: str
    checked: str


class Answer(_Strict):
    codes: tuple[AnswerCode, ...]
    words: tuple[str, ...]


class Answers(_Strict):
    yes: Answer
    no: Answer


class MeasureSet(_Strict):
    measures: tuple[Measure, ...]
    answers: Answers
    dimensionless_units: tuple[str, ...]
    length_units: dict[str, float] = Field(min_length=1)

    def by_field(self, field: str) -> Measure:
        return next(m for m in self.measures if m.field == field)

    def by_code(self, code: str) -> Measure | None:
        return next((m for m in self.measures if m.code == code), None)

    def by_loinc(self, code: str) -> Measure | None:
        return next((m for m in self.measures if any(c.code == code for c in m.loinc)), None)

    def by_name(self, text: str | None) -> Measure | None:
        """The measure whose accepted name is the whole of ``text`` (case and punctuation aside)."""
        key = normalise_name(text)
        if not key:
            return None
        return next((m for m in self.measures if key in {normalise_name(w) for w in m.words}), None)

    def answer(self, system: str | None, code: str | None) -> bool | None:
        for value, answer in ((True, self.answers.yes), (False, self.answers.no)):
            if any(c.system == system and c.code == code for c in answer.codes):
                return value
        return None

    def answer_word(self, text: str | None) -> bool | None:
        key = normalise_name(text)
        if key in {normalise_name(w) for w in self.answers.yes.words}:
            return True
        if key in {normalise_name(w) for w in self.answers.no.words}:
            return False
        return None


class CourseTerms(_Strict):
    routes: dict[str, tuple[str, ...]]
    stop_reasons: dict[StopReason, tuple[str, ...]]


def normalise_name(text: str | None) -> str:
    """Lower case, punctuation as spaces, single spaces: "Pain (VAS):" → "pain vas"."""
    if not text:
        return ""
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


def _read(name: str) -> Any:
    path = resources.files("calcinosis.fhir") / "data" / name
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PackError(f"fhir/data/{name}: cannot be read ({exc})") from exc


@cache
def load_measures() -> MeasureSet:
    try:
        return MeasureSet.model_validate(_read("measures.yaml"))
    except ValidationError as exc:
        raise PackError(f"fhir/data/measures.yaml: {exc}") from exc


@cache
def load_course_terms() -> CourseTerms:
    try:
        return CourseTerms.model_validate(_read("courses.yaml"))
    except ValidationError as exc:
        raise PackError(f"fhir/data/courses.yaml: {exc}") from exc


def _abbreviations(words: list[str]) -> frozenset[str]:
    """Short words written in capitals (IV, IL, PO, PTX): they count only when not written in lower case."""
    return frozenset(w for w in words if len(w) <= ABBREVIATION_MAX and " " not in w and w == w.upper())


@cache
def _route_matcher() -> TermMatcher:
    words = [(w, route) for route, ws in load_course_terms().routes.items() for w in (*ws, route)]
    return TermMatcher(words, _abbreviations([w for w, _ in words]))


@cache
def _stop_matcher() -> TermMatcher:
    words: list[tuple[str, str]] = [
        (w, reason) for reason, ws in load_course_terms().stop_reasons.items() for w in ws
    ]
    return TermMatcher(words)


def routes_in(text: str | None) -> set[str]:
    return _route_matcher().find(text) if text else set()


def stop_reason_in(text: str | None) -> StopReason | None:
    """The one stop reason ``text`` names; "other" when it names none or several; None without text."""
    if not text or not text.strip():
        return None
    found = _stop_matcher().find(text)
    if len(found) == 1:
        reason = next(iter(found))
        if reason in STOP_REASONS:
            return reason  # type: ignore[return-value]
    return "other"


def therapy_route(therapy: Therapy) -> str | None:
    """The route a therapy's name names (parenthesised words aside), when it names exactly one."""
    name = re.sub(r"\([^)]*\)", " ", therapy.name)
    found = routes_in(name)
    return next(iter(found)) if len(found) == 1 else None


@dataclass(frozen=True)
class TherapyMatch:
    """The therapies a medication's words name, with the agent named (when the match was an agent)."""

    therapies: tuple[str, ...]
    agent: str | None
    rejected: tuple[str, ...] = ()  # named, but the record's route is another one


class TherapyMatcher:
    """Pack therapies given as medications (kind drug, or with agents) found by name, alias or agent."""

    def __init__(self, pack: KnowledgePack) -> None:
        self.pack = pack
        eligible = [t for t in pack.therapies.values() if t.kind == "drug" or t.agents]
        # One key per phrase (a phrase may be one therapy's alias and another's agent): what it names.
        self._names: dict[str, list[str]] = {}
        self._agents: dict[str, str] = {}
        spelled: dict[str, str] = {}
        for t in eligible:
            for phrase in (t.name, *t.aliases, *t.agents):
                key = phrase.lower()
                spelled.setdefault(key, phrase)
                self._names.setdefault(key, [])
                if t.id not in self._names[key]:
                    self._names[key].append(t.id)
            for agent in t.agents:
                self._agents[agent.lower()] = agent
        self._matcher = TermMatcher(
            [(spelled[key], key) for key in self._names], _abbreviations(list(spelled.values()))
        )
        self.routes = {t.id: therapy_route(t) for t in eligible}

    def match(self, words: str, route_text: str | None) -> TherapyMatch:
        """Therapies named in ``words``; ``route_text`` (dosage route and product name) narrows them."""
        found = self._matcher.find(words)
        therapies: list[str] = []
        agent: str | None = None
        for key in sorted(found):
            therapies.extend(self._names[key])
            agent = self._agents.get(key, agent)
        named = list(dict.fromkeys(therapies))
        if not named:
            return TherapyMatch((), None)
        given = routes_in(route_text)
        if given:
            fits = [t for t in named if self.routes.get(t) is None or self.routes[t] in given]
            rejected = tuple(t for t in named if t not in fits)
            # A therapy with no route of its own fits any route, but one whose route the record names wins.
            exact = [t for t in fits if self.routes.get(t) in given]
            chosen = exact if exact and len(fits) > 1 else fits
            return TherapyMatch(tuple(chosen), agent, rejected)
        return TherapyMatch(tuple(named), agent)


_MATCHERS: dict[int, tuple[KnowledgePack, TherapyMatcher]] = {}


def therapy_matcher(pack: KnowledgePack) -> TherapyMatcher:
    """One matcher per pack object (kept with the pack, so an id is never reused for another)."""
    held = _MATCHERS.get(id(pack))
    if held is None or held[0] is not pack:
        held = (pack, TherapyMatcher(pack))
        _MATCHERS[id(pack)] = held
    return held[1]
