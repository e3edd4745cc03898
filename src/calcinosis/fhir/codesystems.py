"""CodeSystems behind the codes the FHIR writers use (evidence level, line, stance, subtype, items, visit
measures, course stop reasons)."""

from __future__ import annotations

from typing import Any

from calcinosis.fhir.canonical import (
    CS_EVIDENCE_LEVEL,
    CS_FIT,
    CS_ITEM,
    CS_MEASURE,
    CS_STANCE,
    CS_STOP_REASON,
    CS_SUBTYPE,
    CS_THERAPY_LINE,
    level_definitions,
    pascal,
    url,
)
from calcinosis.fhir.treatment import STOP_REASON_DISPLAY, load_measures
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.models import LineName, SubtypeCode

FITS = ("studied", "listed", "avoid")


def _code_system(cs_path: str, title: str, concepts: list[tuple[str, str, str | None]]) -> dict[str, Any]:
    cid = cs_path.split("/", 1)[1]
    return {
        "resourceType": "CodeSystem",
        "id": cid,
        "url": url(cs_path),
        "name": pascal(cid),
        "title": title,
        "status": "draft",
        "content": "complete",
        "count": len(concepts),
        "concept": [
            {"code": c, "display": d, **({"definition": defn} if defn else {})} for c, d, defn in concepts
        ],
    }


def code_systems(pack: KnowledgePack) -> list[dict[str, Any]]:
    none: str | None = None
    items: dict[str, str] = {w.id: w.name for w in pack.workup.values()}
    items |= {a.id: a.text[:120] for a in pack.alerts}
    items |= {c.id: c.text[:120] for t in pack.therapies.values() for c in t.cautions}
    items |= {t.id: t.name for t in pack.therapies.values()}
    subtypes = {c.value: c.value.replace("-", " ") for c in SubtypeCode}
    subtypes |= {s.id: s.name for s in pack.subtypes.values()}
    levels = [(k, f"Level {k}", v) for k, v in level_definitions().items()]
    lines = [(ln.value, ln.value, none) for ln in LineName]
    stances = ("recommended", "consider", "use-with-caution", "avoid")
    return [
        _code_system(
            CS_EVIDENCE_LEVEL, "Evidence level (Nalluri & Coulson A–E)", [*levels, ("none", "None", none)]
        ),
        _code_system(
            CS_THERAPY_LINE,
            "Line of therapy as stated by a source",
            [*lines, ("no-line-stated", "None", none)],
        ),
        _code_system(CS_STANCE, "Stance of a ranked therapy option", [(s, s, none) for s in stances]),
        _code_system(CS_FIT, "How a therapy relates to a clinical setting", [(f, f, none) for f in FITS]),
        _code_system(
            CS_SUBTYPE, "Calcinosis cutis subtypes and variants", [(k, v, none) for k, v in subtypes.items()]
        ),
        _code_system(
            CS_ITEM,
            "Pack items (work-up, therapies, alerts, cautions)",
            [(k, v, none) for k, v in sorted(items.items())],
        ),
        _code_system(
            CS_MEASURE,
            "Calcinosis visit measures",
            [(m.code, m.display, m.definition) for m in load_measures().measures],
        ),
        _code_system(
            CS_STOP_REASON,
            "Why a treatment course was stopped",
            [(k, v, none) for k, v in STOP_REASON_DISPLAY.items()],
        ),
    ]
