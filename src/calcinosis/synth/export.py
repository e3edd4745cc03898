"""Write a synthetic FHIR Bulk Data export: one NDJSON file per resource type, plus ``manifest.json``.

Deterministic by seed: patient ``i`` is drawn from its own generator seeded with ``(seed, i)``, so an
export of N patients is a prefix of one of 2N patients. A small share of lines is damaged the way real
exports are (cut short, a resource type the screen does not read, no subject), and now and then a
patient's Patient line is missing or doubled (only when lines are damaged at all: ``bad_line_rate`` > 0);
``scenarios.tsv`` records what each patient was drawn as, its coding style and its kidney tags.

``coding``: ``mixed`` (the default) draws each patient's site habits (ICD-10-CM and US units, SNOMED CT and
SI units, text only); ``synthea`` codes every patient in SNOMED CT the way Synthea's modules do.
"""

from __future__ import annotations

import gzip
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

import orjson

from calcinosis.errors import InputError
from calcinosis.screen.ndjson import RESOURCE_TYPES
from calcinosis.synth.builder import PatientBuilder
from calcinosis.synth.codebook import CodeBook
from calcinosis.synth.scenarios import SCENARIOS, add_noise

STYLES = (("us", 0.55), ("si", 0.35), ("text", 0.10))
CODINGS = ("mixed", "synthea")


@dataclass
class SynthSummary:
    out_dir: Path
    patients: int
    seed: int
    resources: Counter[str] = field(default_factory=Counter)
    scenarios: Counter[str] = field(default_factory=Counter)
    bad_lines: Counter[str] = field(default_factory=Counter)


def _open(path: Path, compress: bool) -> BinaryIO:
    if compress:
        return cast(BinaryIO, gzip.GzipFile(path, "wb", compresslevel=3))
    return path.open("wb")


def _damage(rng: random.Random, resource: dict[str, Any], line: bytes) -> tuple[bytes, str]:
    """A damaged version of a line and the kind of damage."""
    kind = rng.choice(["truncated", "unknown-type", "no-subject"])
    if kind == "truncated" or resource["resourceType"] == "Patient":
        return line[: max(1, len(line) // 2)], "not-json"
    if kind == "unknown-type":
        return orjson.dumps({**resource, "resourceType": "Encounter"}), "unknown-resource-type"
    return orjson.dumps({k: v for k, v in resource.items() if k != "subject"}), "missing-subject"


def generate_export(
    out_dir: Path,
    patients: int,
    seed: int = 1,
    *,
    compress: bool = False,
    bad_line_rate: float = 0.001,
    coding: str = "mixed",
) -> SynthSummary:
    """Write ``patients`` synthetic patients to ``out_dir`` (created; must be empty if it exists)."""
    if patients < 1:
        raise InputError("--patients: must be at least 1")
    if coding not in CODINGS:
        raise InputError(f"--coding: unknown coding '{coding}' (choose from {', '.join(CODINGS)})")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise InputError(f"{out_dir}: exists and is not empty")
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = ".ndjson.gz" if compress else ".ndjson"
    book = CodeBook()
    names = list(SCENARIOS)
    weights = [SCENARIOS[n][1] for n in names]
    summary = SynthSummary(out_dir=out_dir, patients=patients, seed=seed)
    handles = {t: _open(out_dir / f"{t}{suffix}", compress) for t in RESOURCE_TYPES}
    try:
        with (out_dir / "scenarios.tsv").open("w", encoding="utf-8") as truth:
            truth.write("patient_id\tscenario\tstyle\ttags\n")
            for i in range(patients):
                rng = random.Random(f"{seed}:{i}")  # noqa: S311 - synthetic data, not security
                pid = f"p{i:07d}"
                style = rng.choices([s for s, _ in STYLES], weights=[w for _, w in STYLES])[0]
                if coding == "synthea":
                    style = "synthea"
                scenario = rng.choices(names, weights=weights)[0]
                builder = PatientBuilder(rng=rng, book=book, patient_id=pid, style=style)
                SCENARIOS[scenario][0](builder)
                add_noise(builder)
                truth.write(f"{pid}\t{scenario}\t{style}\t{','.join(sorted(builder.tags))}\n")
                summary.scenarios[scenario] += 1
                _write_patient(rng, builder, handles, summary, bad_line_rate)
    finally:
        for h in handles.values():
            h.close()
    _write_manifest(out_dir, suffix, summary)
    return summary


def _write_patient(
    rng: random.Random,
    builder: PatientBuilder,
    handles: dict[str, BinaryIO],
    summary: SynthSummary,
    bad_line_rate: float,
) -> None:
    twist = rng.random() if bad_line_rate > 0 else 1.0
    for rtype, resources in builder.resources.items():
        out = handles[rtype]
        for resource in resources:
            if rtype == "Patient" and twist < 0.001:
                continue  # orphan records: the Patient line is missing from the export
            line = orjson.dumps(resource)
            if rng.random() < bad_line_rate:
                line, reason = _damage(rng, resource, line)
                summary.bad_lines[reason] += 1
            else:
                summary.resources[rtype] += 1
            out.write(line + b"\n")
            if rtype == "Patient" and 0.001 <= twist < 0.0015:
                out.write(line + b"\n")  # the same Patient exported twice
                summary.resources[rtype] += 1


def _write_manifest(out_dir: Path, suffix: str, summary: SynthSummary) -> None:
    manifest = {
        "transactionTime": "2026-01-15T00:00:00Z",
        "request": "https://synthetic.invalid/fhir/$export?_type=" + ",".join(RESOURCE_TYPES),
        "requiresAccessToken": False,
        "output": [
            {"type": t, "url": f"https://synthetic.invalid/bulk/{t}{suffix}", "count": summary.resources[t]}
            for t in RESOURCE_TYPES
        ],
        "error": [],
        "extension": {"calcinosis-synth": {"patients": summary.patients, "seed": summary.seed}},
    }
    (out_dir / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
