"""Write the golden files (``make golden``): every output of every example input, normalised.

    python scripts/golden.py            # rewrite tests/golden/ and list what changed
    python scripts/golden.py --check    # exit 1 when a golden file differs (what the test checks)

Review what changed with ``git diff tests/golden`` before committing: each difference is a change in
what the product says.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.golden.produce import Producer, examples, orphans, stored, write  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on any difference")
    args = parser.parse_args()
    changed: list[str] = []
    with Producer() as producer:
        for example in examples():
            outputs = producer.outputs(example)
            if args.check:
                before = stored(example)
                diff = sorted(n for n in set(outputs) | set(before) if outputs.get(n) != before.get(n))
            else:
                diff = write(example, outputs)
            changed += [f"{example.key}/{name}" for name in diff]
    for folder in orphans():
        changed.append(f"{folder.relative_to(ROOT / 'tests' / 'golden')}/ (no example any more)")
        if not args.check:
            shutil.rmtree(folder)
    verb = "differ" if args.check else "changed"
    for line in changed:
        sys.stdout.write(f"{verb}: tests/golden/{line}\n")
    sys.stdout.write(f"{len(changed)} golden file(s) {verb}\n")
    if changed and not args.check:
        sys.stdout.write("review them with `git diff tests/golden` before committing\n")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
