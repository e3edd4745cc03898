"""FHIR input cost: turning a Bundle into facts and an assessment, against parsing the same Bundle's JSON.

All figures come from one run on this machine, so the ratios compare like with like:

    python benchmarks/fhir.py [--repeat N]

Rows: JSON parse (orjson) per bundle; FHIR → Case; FHIR → Case → Assessment; Assessment → FHIR guidance
Bundle; and the same parse/read for the native twin. Ratios are against the JSON parse of the same input.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson
from timing import timed

from calcinosis.engine import assess
from calcinosis.fhir.facts import case_from_fhir
from calcinosis.fhir.guidance import assessment_to_bundle
from calcinosis.pack import load_pack
from calcinosis.patient.case_json import parse_case

ROOT = Path(__file__).resolve().parents[1]
FHIR = ROOT / "examples" / "fhir"
CASES = ROOT / "examples" / "cases"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    pack = load_pack()
    bundles = [p.read_bytes() for p in sorted(FHIR.glob("*.json"))]
    natives = [(CASES / p.name).read_bytes() for p in sorted(FHIR.glob("*.json"))]
    n = len(bundles)
    resources = sum(len(orjson.loads(b)["entry"]) for b in bundles)
    case, issues = case_from_fhir(orjson.loads(bundles[0]))
    assessment_to_bundle(assess(case, pack, issues=issues))  # warm vocabularies and code sets

    def parse() -> None:
        for raw in bundles:
            orjson.loads(raw)

    def to_facts() -> None:
        for raw in bundles:
            case_from_fhir(orjson.loads(raw))

    def to_assessment() -> None:
        for raw in bundles:
            case, issues = case_from_fhir(orjson.loads(raw))
            assess(case, pack, issues=issues)

    assessments = []
    for raw in bundles:
        case, issues = case_from_fhir(orjson.loads(raw))
        assessments.append(assess(case, pack, issues=issues))

    def to_guidance() -> None:
        for a in assessments:
            orjson.dumps(assessment_to_bundle(a))

    def native_parse() -> None:
        for raw in natives:
            orjson.loads(raw)

    def native_facts() -> None:
        for raw in natives:
            parse_case(orjson.loads(raw))

    rows = [
        ("JSON parse of the bundle (orjson)", timed(parse, args.repeat * 4) / n),
        ("FHIR bundle -> facts (Case)", timed(to_facts, args.repeat) / n),
        ("FHIR bundle -> facts -> assessment", timed(to_assessment, max(args.repeat // 5, 5)) / n),
        ("assessment -> FHIR guidance bundle (JSON)", timed(to_guidance, args.repeat) / n),
        ("native case: JSON parse", timed(native_parse, args.repeat * 4) / n),
        ("native case: JSON -> facts (Case)", timed(native_facts, args.repeat) / n),
    ]
    base = rows[0][1]
    print(f"{n} example bundles, {resources} resources in all ({resources / n:.1f} per bundle)")
    print(f"{'step':<45}{'per bundle':>14}{'x JSON parse':>14}")
    for label, seconds in rows:
        ratio = seconds / base if label.startswith(("FHIR", "JSON", "assessment")) else seconds / rows[4][1]
        print(f"{label:<45}{seconds * 1e6:>11.1f} us{ratio:>13.1f}x")
    facts, full = rows[1][1], rows[2][1]
    print(f"reading FHIR is {facts / base:.0f}x the JSON parse; the whole assessment is {full / base:.0f}x;")
    print(
        f"FHIR reading is {facts / full:.0%} of bundle-to-assessment time ({1 / full:.0f} bundles/s on one core)"
    )
    print("(native rows are ratios to the native JSON parse)")


if __name__ == "__main__":
    main()
