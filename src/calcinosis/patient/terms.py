"""Lab and lesion vocabularies (``labs.yaml``, ``lesion-terms.yaml``), loaded once."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict

from calcinosis.patient.matching import PhraseIndex, TermMatcher, Work


class LabTerm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    unit: str
    units: dict[str, float]
    loinc: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()


class LabVocabulary:
    def __init__(self, terms: tuple[LabTerm, ...]) -> None:
        self.terms = {t.id: t for t in terms}
        self.by_loinc = {code: t.id for t in terms for code in t.loinc}
        synonyms = sorted(
            ((s.lower(), t.id) for t in terms for s in (*t.synonyms, t.id)), key=lambda e: -len(e[0])
        )
        self._ids = [tid for _, tid in synonyms]
        ranks: dict[str, int] = {}
        for rank, (syn, _) in enumerate(synonyms):
            ranks.setdefault(syn, rank)
        self._index = PhraseIndex(ranks)

    def analyte_for_text(self, text: str, work: Work | None = None) -> str | None:
        """The analyte whose synonym found in the text (lower-cased, on word boundaries) is the longest; among
        synonyms of one length, the first listed."""
        low = text.lower()
        best = min((rank for _, _, rank in self._index.spans(low, low, work)), default=None)
        return None if best is None else self._ids[best]

    def to_canonical(self, analyte: str, value: float, unit: str | None) -> float | None:
        """The value in the analyte's canonical unit, or None when the unit is not known for it."""
        term = self.terms[analyte]
        if unit is None or unit.strip() == "":
            return value if term.unit == "" else None
        factor = term.units.get(unit.strip())
        if factor is None:
            factor = {k.lower(): v for k, v in term.units.items()}.get(unit.strip().lower())
        return None if factor is None else value * factor


class LesionVocabulary:
    def __init__(self, features: dict[str, list[str]], sites: dict[str, list[str]]) -> None:
        self.features = TermMatcher([(w, k) for k, words in features.items() for w in (*words, k)])
        self.sites = TermMatcher([(w, k) for k, words in sites.items() for w in (*words, k)])

    def features_in(self, text: str) -> set[str]:
        return self.features.find(text)

    def sites_in(self, text: str) -> set[str]:
        return self.sites.find(text)


def _data(name: str) -> object:
    path = resources.files("calcinosis.patient") / "data" / name
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@cache
def load_lab_vocabulary() -> LabVocabulary:
    data = _data("labs.yaml")
    assert isinstance(data, dict)  # noqa: S101 - shipped file, validated below
    return LabVocabulary(tuple(LabTerm.model_validate(t) for t in data["labs"]))


@cache
def load_lesion_vocabulary() -> LesionVocabulary:
    data = _data("lesion-terms.yaml")
    assert isinstance(data, dict)  # noqa: S101
    return LesionVocabulary(data["features"], data["sites"])
