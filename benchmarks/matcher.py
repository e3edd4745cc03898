"""Free-text matching cost as the input doubles, against a baseline measured in the same run.

For texts of 10, 20, 40, 80 and 160 KB (clinical phrasing with terms, negations and clause ends, repeated), it
times the concept vocabulary, the lesion feature and site vocabularies and the lab analyte lookup, and prints
each time, its ratio per doubling (2.0 is linear) and its ratio to the baseline `text.lower().split()` over the
same text: `python benchmarks/matcher.py [--sizes 10,20,40,80,160] [--repeat 3]`.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable

from timing import timed

from calcinosis.patient.terms import load_lab_vocabulary, load_lesion_vocabulary
from calcinosis.patient.vocabulary import load_vocabulary

FRAGMENTS = (
    "painful firm nodules on the fingertips, not ulcerated",
    "no history of chronic kidney disease; on hemodialysis since 2019",
    "denies warfarin use but takes calcium carbonate and vitamin D",
    "violaceous plaques with necrosis over the thigh. However, no livedo",
    "CREST syndrome with Raynaud phenomenon and sclerodactyly",
    "serum phosphorus and corrected calcium within normal limits",
    "chalky discharge from an ulcerated nodule on the elbow: inflamed, warm and tender",
    "negative for ANA, without signs of dermatomyositis or lupus",
)


def make_text(size: int) -> str:
    parts: list[str] = []
    total = 0
    i = 0
    while total < size:
        piece = FRAGMENTS[i % len(FRAGMENTS)] + ". "
        parts.append(piece)
        total += len(piece)
        i += 1
    return "".join(parts)[:size]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,20,40,80,160", help="sizes in KB, each double the last")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) * 1024 for s in args.sizes.split(",")]
    concepts, lesions, labs = load_vocabulary(), load_lesion_vocabulary(), load_lab_vocabulary()
    concepts.find("warm up"), lesions.features_in("warm up"), labs.analyte_for_text("warm up")
    tasks: dict[str, Callable[[str], object]] = {
        "baseline lower+split": lambda t: t.lower().split(),
        "concepts": concepts.find,
        "lesion features": lesions.features_in,
        "lesion sites": lesions.sites_in,
        "lab analyte": labs.analyte_for_text,
    }
    previous: dict[str, float] = {}
    print(f"{'task':<22}{'KB':>6}{'time ms':>12}{'x per doubling':>16}{'x baseline':>12}")
    for size in sizes:
        text = make_text(size)
        base = timed(functools.partial(lambda t: t.lower().split(), text), args.repeat)
        for name, fn in tasks.items():
            t = timed(functools.partial(fn, text), args.repeat)
            ratio = f"{t / previous[name]:.2f}" if name in previous else "-"
            print(f"{name:<22}{size // 1024:>6}{t * 1000:>12.2f}{ratio:>16}{t / base:>12.1f}")
            previous[name] = t
        print()


if __name__ == "__main__":
    main()
