"""Assessment cost against JSON parsing of the same input, pack load time and CLI cold start.

Prints figures and ratios measured in one run: `python benchmarks/assess.py [--repeat N]`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import orjson
from timing import timed

from calcinosis.engine import assess
from calcinosis.pack import load_pack
from calcinosis.patient.case_json import parse_case

CASES = Path(__file__).resolve().parents[1] / "examples" / "cases"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    t0 = time.perf_counter()
    pack = load_pack()
    pack_load = time.perf_counter() - t0
    raws = [p.read_bytes() for p in sorted(CASES.glob("*.json"))]
    assess(parse_case(orjson.loads(raws[0]))[0], pack)  # warm vocabularies

    def parse_all() -> None:
        for raw in raws:
            orjson.loads(raw)

    def assess_all() -> None:
        for raw in raws:
            case, issues = parse_case(orjson.loads(raw))
            assess(case, pack, issues=issues)

    parse_t = timed(parse_all, args.repeat) / len(raws)
    assess_t = timed(assess_all, max(args.repeat // 10, 5)) / len(raws)
    cold = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "calcinosis",
                "assess",
                str(CASES / "ckd-metastatic-high-phosphate.json"),
                "-f",
                "json",
            ],
            check=True,
            capture_output=True,
        )
        cold.append(time.perf_counter() - t0)
    print(f"cases: {len(raws)}")
    print(f"pack load: {pack_load * 1000:.1f} ms")
    print(f"JSON parse per case (baseline): {parse_t * 1e6:.1f} us")
    print(f"parse + assess per case: {assess_t * 1000:.2f} ms  ({1 / assess_t:.0f} cases/s)")
    print(f"ratio assess/parse: {assess_t / parse_t:.0f}x")
    print(f"CLI cold start (assess, json): median {statistics.median(cold):.2f} s")


if __name__ == "__main__":
    main()
