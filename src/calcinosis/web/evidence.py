"""View models for the evidence pages: the ladder (whole pack or one setting) and one therapy."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from calcinosis.engine.basis import cite, cite_all
from calcinosis.engine.ladder import ladder
from calcinosis.engine.rank import evidence_of
from calcinosis.engine.results import Citation, EvidenceOut
from calcinosis.errors import NotFoundError
from calcinosis.pack.knowledge import KnowledgePack, Setting
from calcinosis.pack.models import Caution, Therapy
from calcinosis.web.chart import evidence_svg
from calcinosis.web.present import StudyRow, study_rows


@dataclass(frozen=True)
class LadderRow:
    therapy: Therapy
    evidence: EvidenceOut
    lines: tuple[str, ...]
    fits: tuple[tuple[Setting, str], ...]
    conflicts: int


def ladder_rows(pack: KnowledgePack, setting: str | None = None) -> tuple[LadderRow, ...]:
    if setting is not None and setting not in pack.settings:
        raise NotFoundError(f"no setting '{setting}'")
    rows = []
    for t in ladder(pack, setting):
        lines = sorted({ln.line.value for ln in t.lines if setting is None or ln.setting in (None, setting)})
        fits = tuple(
            (pack.settings[f.setting], f.fit.value)
            for f in t.settings
            if f.setting in pack.settings and (setting is None or f.setting == setting)
        )
        rows.append(LadderRow(t, evidence_of(t, pack), tuple(lines), fits, len(pack.all_conflicts(t.id))))
    return tuple(rows)


@dataclass(frozen=True)
class LineView:
    line: str
    setting: str | None
    stated_level: str | None
    note: str | None
    source: Citation


@dataclass(frozen=True)
class CautionView:
    caution: Caution
    sources: tuple[Citation, ...]


@dataclass(frozen=True)
class PositionView:
    claim: str
    sources: tuple[Citation, ...]


@dataclass(frozen=True)
class ConflictView:
    id: str
    topic: str
    positions: tuple[PositionView, ...]
    handling: str


@dataclass(frozen=True)
class TherapyPage:
    therapy: Therapy
    evidence: EvidenceOut
    summary_sources: tuple[Citation, ...]
    mechanism_sources: tuple[Citation, ...]
    lines: tuple[LineView, ...]
    studies: tuple[StudyRow, ...]
    chart: Markup
    fits: tuple[tuple[Setting, str, str | None], ...]
    cautions: tuple[CautionView, ...]
    doses: tuple[tuple[str, tuple[Citation, ...]], ...]
    conflicts: tuple[ConflictView, ...]


def therapy_page(pack: KnowledgePack, therapy_id: str) -> TherapyPage:
    t = pack.therapies.get(therapy_id)
    if t is None:
        raise NotFoundError(f"no therapy '{therapy_id}'")
    settings = pack.settings
    studies = study_rows(pack, t.id)
    return TherapyPage(
        therapy=t,
        evidence=evidence_of(t, pack),
        summary_sources=cite_all(pack, t.summary_sources),
        mechanism_sources=cite_all(pack, t.mechanism_sources),
        lines=tuple(
            LineView(
                ln.line.value,
                settings[ln.setting].name if ln.setting in settings else ln.setting,
                ln.stated_level.value if ln.stated_level else None,
                ln.note,
                cite(pack, ln.source),
            )
            for ln in t.lines
        ),
        studies=studies,
        chart=evidence_svg([s.point() for s in studies], f"Evidence for {t.name}"),
        fits=tuple((settings[f.setting], f.fit.value, f.note) for f in t.settings if f.setting in settings),
        cautions=tuple(CautionView(c, cite_all(pack, c.sources)) for c in t.cautions),
        doses=tuple((d.text, cite_all(pack, d.sources)) for d in t.doses_reported),
        conflicts=tuple(
            ConflictView(
                k.id,
                k.topic,
                tuple(PositionView(p.claim, cite_all(pack, p.sources)) for p in k.positions),
                k.handling,
            )
            for k in pack.all_conflicts(t.id)
        ),
    )
