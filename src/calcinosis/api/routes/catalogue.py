"""The knowledge served: ``GET /therapies``, ``GET /therapies/{therapy_id}``, ``GET /pack``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from calcinosis.api.deps import StateDep
from calcinosis.api.schemas import PackPublic, SourcePublic, TherapyPublic, TherapySummaryPublic
from calcinosis.engine.rank import evidence_of
from calcinosis.errors import NotFoundError

router = APIRouter(tags=["knowledge"])

TherapyId = Annotated[str, Path(max_length=100, description="Therapy id (lowercase-hyphen slug)")]


@router.get(
    "/therapies",
    response_model=list[TherapySummaryPublic],
    summary="All therapies in the pack",
    operation_id="list_therapies",
    responses={
        200: {
            "description": "Every therapy",
            "links": {
                "FirstTherapy": {
                    "operationId": "get_therapy",
                    "parameters": {"therapy_id": "$response.body#/0/id"},
                }
            },
        }
    },
)
async def therapies(state: StateDep) -> list[TherapySummaryPublic]:
    pack = state.pack
    out = []
    for t in sorted(pack.therapies.values(), key=lambda t: t.name.lower()):
        ev = evidence_of(t, pack)
        out.append(
            TherapySummaryPublic(
                id=t.id,
                name=t.name,
                kind=t.kind,
                summary=t.summary,
                evidence_level=ev.shown.value if ev.shown else None,
                evidence_from=ev.shown_from,
                studies=ev.studies,
                settings=tuple(s.setting for s in t.settings),
            )
        )
    return out


@router.get(
    "/therapies/{therapy_id}",
    response_model=TherapyPublic,
    summary="One therapy with its evidence and sources",
    operation_id="get_therapy",
    responses={404: {"description": "No such therapy (OperationOutcome)"}},
)
async def therapy(therapy_id: TherapyId, state: StateDep) -> TherapyPublic:
    pack = state.pack
    t = pack.therapies.get(therapy_id)
    if t is None:
        raise NotFoundError(f"no therapy '{therapy_id}'")
    refs = {r.source for r in (*t.mechanism_sources, *t.summary_sources)}
    for group in (t.settings, t.studies, t.cautions, t.doses_reported):
        for item in group:
            refs.update(r.source for r in item.sources)
    refs.update(ln.source.source for ln in t.lines)
    refs.update(s.source.source for s in t.stated_levels)
    sources = tuple(SourcePublic.of(pack.sources[r]) for r in sorted(refs) if r in pack.sources)
    return TherapyPublic(therapy=t, evidence=evidence_of(t, pack), sources=sources)


@router.get(
    "/pack", response_model=PackPublic, summary="Knowledge pack: version, hash, sources, last reviewed"
)
async def pack_info(state: StateDep) -> PackPublic:
    pack = state.pack
    meta = pack.meta
    return PackPublic(
        id=meta.id,
        title=meta.title,
        version=meta.version,
        content_hash=pack.content_hash,
        last_reviewed=meta.last_reviewed,
        publisher=meta.publisher,
        grading_system=meta.grading_system,
        disclaimer=meta.disclaimer,
        therapies=len(pack.therapies),
        sources=tuple(SourcePublic.of(s) for s in pack.sources.values()),
    )
