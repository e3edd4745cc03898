"""Synthetic registry data: treatment courses and visits for tests, the demo and benchmarks.

Deterministic by seed: patient ``pid`` is drawn from its own generator seeded with ``(seed, pid)``. Each
patient gets one to three consecutive courses of therapies the pack lists for its subtype (never one the pack
says to avoid there), a baseline visit at each start and follow-ups about every three months; lesion count,
size, pain and (for dystrophic calcinosis) the SCTC score drift towards a drawn course outcome (better,
unchanged or worse). Doses are left empty and adverse events are labelled synthetic: no clinical fact is
invented. One JSON line per patient (``registry.ndjson``), which ``calcinosis registry import`` loads.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.loader import load_pack_cached
from calcinosis.pack.models import Applicability

ANCHOR = dt.date(2026, 1, 15)  # the synthetic export's transaction date: every date is before it
SCENARIO_SUBTYPES = {
    "ctd-dystrophic": "dystrophic",
    "ckd-metastatic": "metastatic",
    "calciphylaxis-dialysis-warfarin": "calciphylaxis",
    "iatrogenic": "iatrogenic",
    "idiopathic": "idiopathic",
}
SUBTYPE_WEIGHTS = (
    ("dystrophic", 0.55),
    ("metastatic", 0.2),
    ("calciphylaxis", 0.12),
    ("iatrogenic", 0.07),
    ("idiopathic", 0.06),
)
SITES = ("right hand", "left hand", "right elbow", "left knee", "buttock", "thigh", "forearm")
NOT_COURSES = {"no-treatment", "treat-underlying-disease"}
OUTCOMES = (("better", 0.4), ("same", 0.4), ("worse", 0.2))
FILE = "registry.ndjson"


_CHOICES: dict[tuple[str, str], tuple[tuple[str, int], ...]] = {}


def therapies_for(subtype: str, pack: KnowledgePack) -> tuple[tuple[str, int], ...]:
    """(therapy id, weight): drugs weigh more than procedures; none the pack marks avoid for the subtype."""
    key = (subtype, pack.content_hash)
    if key not in _CHOICES:
        _CHOICES[key] = _therapies_for(subtype, pack)
    return _CHOICES[key]


def _therapies_for(subtype: str, pack: KnowledgePack) -> tuple[tuple[str, int], ...]:
    out: dict[str, int] = {}
    for t in pack.therapies.values():
        if t.id in NOT_COURSES:
            continue
        fits = [s.fit for s in t.settings if pack.settings[s.setting].subtype == subtype]
        if fits and Applicability.AVOID not in fits:
            out[t.id] = 3 if t.kind == "drug" else 1
    return tuple(sorted(out.items()))


def _pick(rng: random.Random, weighted: tuple[tuple[str, Any], ...]) -> str:
    return rng.choices([k for k, _ in weighted], weights=[float(w) for _, w in weighted])[0]


def synthetic_patient(
    pid: str, subtype: str, seed: int = 1, pack: KnowledgePack | None = None
) -> dict[str, Any]:
    pack = pack or load_pack_cached()
    rng = random.Random(f"registry:{seed}:{pid}")  # noqa: S311 - synthetic data, not security
    choices = therapies_for(subtype, pack)
    site = rng.choice(SITES)
    count = rng.randint(1, 8)
    size = round(rng.uniform(4, 30), 1)
    pain = float(rng.randint(3, 9))
    sctc = round(rng.uniform(5, 60), 1) if subtype == "dystrophic" and "hand" in site else None
    start = ANCHOR - dt.timedelta(days=rng.randint(120, 2200))
    courses: list[dict[str, Any]] = []
    visits: list[dict[str, Any]] = []
    for ref in range(1, rng.randint(1, 3) + 1):
        if start >= ANCHOR - dt.timedelta(days=30):
            break
        therapy = _pick(rng, choices)
        outcome = _pick(rng, OUTCOMES)
        kind = pack.therapies[therapy].kind
        length = 1 if kind == "procedure" else rng.randint(60, 540)
        follow_ups = max(1, min(6, (length + 90) // 90))
        day = start
        if not visits or visits[-1]["date"] != day.isoformat():
            visits.append(_visit(day, None, site, count, size, pain, sctc, rng, new=False))
        for _ in range(follow_ups):
            day = day + dt.timedelta(days=rng.randint(75, 105))
            if day >= ANCHOR:
                break
            f = {"better": 0.7, "same": 1.0, "worse": 1.3}[outcome]
            count = min(60, max(0, round(count * rng.uniform(f - 0.1, f + 0.1))))
            size = round(min(150.0, max(0.0, size * rng.uniform(f - 0.1, f + 0.1))), 1)
            pain = float(min(10, max(0, round(pain * rng.uniform(f - 0.15, f + 0.1)))))
            sctc = round(min(300.0, sctc * rng.uniform(f - 0.1, f + 0.1)), 1) if sctc is not None else None
            visits.append(
                _visit(
                    day,
                    ref,
                    site,
                    count,
                    size,
                    pain,
                    sctc,
                    rng,
                    new=outcome == "worse" and rng.random() < 0.3,
                )
            )
        stop = start + dt.timedelta(days=length)
        events = []
        if rng.random() < 0.06:
            events.append(
                {"date": (start + dt.timedelta(days=rng.randint(0, max(0, min(length, 60))))).isoformat(),
                 "description": "synthetic adverse event (test data)",
                 "severity": rng.choice(["mild", "moderate", "severe"])}
            )  # fmt: skip
        running = stop >= ANCHOR
        reason = (
            "adverse-event"
            if events
            else {"better": "resolved", "same": "ineffective", "worse": "ineffective"}[outcome]
        )
        courses.append(
            {
                "ref": ref,
                "therapy": therapy,
                "subtype": subtype,
                "agent": pack.therapies[therapy].agents[0] if pack.therapies[therapy].agents else None,
                "route": None,
                "start": start.isoformat(),
                "stop": None if running else stop.isoformat(),
                "stop_reason": None if running else reason,
                "adverse_events": events,
            }
        )
        start = max(stop, day) + dt.timedelta(days=rng.randint(1, 30))
    return {"patient_id": pid, "courses": courses, "visits": visits}


def _visit(
    day: dt.date,
    ref: int | None,
    site: str,
    count: int,
    size: float,
    pain: float,
    sctc: float | None,
    rng: random.Random,
    *,
    new: bool,
) -> dict[str, Any]:
    m: dict[str, Any] = {"site": site, "count": count, "largest_mm": size, "pain_vas": pain}
    if sctc is not None:
        m["sctc_score"] = sctc
    m["ulceration"] = rng.random() < 0.06
    m["inflammation"] = rng.random() < 0.08
    if new:
        m["new_lesions"] = True
    return {"date": day.isoformat(), "course_ref": ref, "measurements": [m]}


def synthetic_patients(n: int, seed: int = 1, prefix: str = "p") -> Iterator[dict[str, Any]]:
    """``n`` registry patients with subtypes drawn by a fixed mix (for benchmarks)."""
    pack = load_pack_cached()
    for i in range(n):
        pid = f"{prefix}{i:07d}"
        rng = random.Random(f"registry-subtype:{seed}:{pid}")  # noqa: S311
        yield synthetic_patient(pid, _pick(rng, SUBTYPE_WEIGHTS), seed, pack)


def write_for_export(export_dir: Path, seed: int) -> int:
    """Registry lines for the patients of a synthetic export whose scenario has calcinosis (read from
    its ``scenarios.tsv``), written to ``export_dir/registry.ndjson``; returns how many patients."""
    pack = load_pack_cached()
    n = 0
    with (
        (export_dir / "scenarios.tsv").open(encoding="utf-8") as truth,
        (export_dir / FILE).open("wb") as out,
    ):
        next(truth)
        for line in truth:
            pid, scenario = line.split("\t")[:2]
            subtype = SCENARIO_SUBTYPES.get(scenario)
            if subtype is None:
                continue
            out.write(orjson.dumps(synthetic_patient(pid, subtype, seed, pack)) + b"\n")
            n += 1
    return n
