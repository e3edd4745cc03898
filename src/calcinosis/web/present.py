"""Presentation helpers: group, order and label what the engine and the pack already decided.

Nothing here changes a conclusion: cautions are ordered (this patient's first) and grouped, never dropped;
studies and citations are looked up in the pack to show the basis of a line.
"""

from __future__ import annotations

from dataclasses import dataclass

from calcinosis.engine.basis import cite_all
from calcinosis.engine.results import Alert, Assessment, CautionOut, Citation, TherapyOption
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.levels import LEVEL_RULE, derive_study_level
from calcinosis.web.chart import StudyPoint


@dataclass(frozen=True)
class CautionGroups:
    """This patient's cautions, those that always apply, and conditional ones not triggered here."""

    for_patient: tuple[CautionOut, ...]
    general: tuple[CautionOut, ...]
    not_triggered: tuple[CautionOut, ...]


def _by_severity(items: list[CautionOut]) -> tuple[CautionOut, ...]:
    return tuple(sorted(items, key=lambda c: c.severity.rank))


def caution_groups(option: TherapyOption) -> CautionGroups:
    mine = [c for c in option.cautions if c.patient_specific]
    general = [c for c in option.cautions if not c.patient_specific and not c.applies_when]
    idle = [c for c in option.cautions if not c.patient_specific and c.applies_when]
    return CautionGroups(_by_severity(mine), _by_severity(general), _by_severity(idle))


def alerts_for(assessment: Assessment, therapy_id: str) -> tuple[Alert, ...]:
    return tuple(a for a in assessment.alerts if therapy_id in a.therapies)


@dataclass(frozen=True)
class StudyRow:
    id: str
    label: str
    design: str
    blinding: str
    n: int | None
    level: str | None
    year: int | None
    population: str
    outcome: str
    verified: bool
    sources: tuple[Citation, ...]

    def point(self) -> StudyPoint:
        return StudyPoint(self.label, self.year, self.level, self.n, self.verified)


def study_rows(pack: KnowledgePack, therapy_id: str) -> tuple[StudyRow, ...]:
    """The therapy's recorded studies, oldest first; the year is the first dated source's year."""
    rows = []
    for s in pack.therapies[therapy_id].studies:
        years = [pack.sources[r.source].year for r in s.sources if r.source in pack.sources]
        level = derive_study_level(s)
        rows.append(
            StudyRow(
                id=s.id,
                label=s.label,
                design=s.design.value,
                blinding=s.blinding.value,
                n=s.n,
                level=level.value if level else None,
                year=next((y for y in years if y is not None), None),
                population=s.population,
                outcome=s.outcome,
                verified=s.verified,
                sources=cite_all(pack, s.sources),
            )
        )
    return tuple(sorted(rows, key=lambda r: (r.year is None, r.year or 0, r.label.lower())))


def level_legend() -> tuple[tuple[str, str], ...]:
    """(level, meaning) pairs from the chapter's rule as the pack states it."""
    body, _, _ = LEVEL_RULE.partition(" (")
    pairs = []
    for part in body.split("; "):
        level, _, text = part.partition(": ")
        pairs.append((level.strip(), text.strip().replace(">=", "≥").replace("<", "fewer than")))
    return tuple(pairs)


def pubmed_url(pmid: str) -> str:
    return f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"


def doi_url(doi: str) -> str:
    return f"https://doi.org/{doi}"
