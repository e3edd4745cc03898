"""Lab and lesion vocabularies (``labs.yaml``, ``lesion-terms.yaml``), loaded once."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict

from calcinosis.patient.negation import asserted_terms


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
        self._synonyms = sorted(
            ((s.lower(), t.id) for t in terms for s in (*t.synonyms, t.id)), key=lambda e: -len(e[0])
        )

    def analyte_for_text(self, text: str) -> str | None:
        low = text.lower()
        for syn, tid in self._synonyms:
            if re.search(r"(?<![\w-])" + re.escape(syn) + r"(?![\w-])", low):
                return tid
        return None

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
        self.features = self._compile(features)
        self.sites = self._compile(sites)

    @staticmethod
    def _compile(table: dict[str, list[str]]) -> list[tuple[re.Pattern[str], str]]:
        pairs = sorted(((w, k) for k, words in table.items() for w in (*words, k)), key=lambda e: -len(e[0]))
        return [(re.compile(r"(?<![\w-])" + re.escape(w) + r"(?![\w-])", re.IGNORECASE), k) for w, k in pairs]

    @staticmethod
    def _find(patterns: list[tuple[re.Pattern[str], str]], text: str) -> set[str]:
        return asserted_terms(patterns, text)

    def features_in(self, text: str) -> set[str]:
        return self._find(self.features, text)

    def sites_in(self, text: str) -> set[str]:
        return self._find(self.sites, text)


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
