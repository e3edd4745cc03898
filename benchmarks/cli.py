"""`calcinosis assess FILE` from a cold process, against a bare interpreter start measured in the same run.

Runs are interleaved (bare, CLI, bare, CLI, ...) so that load from other processes falls on both alike; the
figures are medians of wall time and of CPU time (user + system of the child). The pack and vocabulary
cache is warmed first (``--cold`` also times runs with an empty cache directory). ``--before SRC`` adds the
same command run from another source tree (e.g. ``git archive main src | tar -x -C /tmp/before``) as a
third series, so that before and after come from one run on one machine.

    python benchmarks/cli.py [--runs 15] [--format json] [--before /tmp/before/src] [--cold]

Targets (issue 12): ≤ 0.3 s wall on 2 cores and ≤ 25x the bare interpreter start.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import calcinosis

CASE = Path(__file__).resolve().parents[1] / "examples" / "cases" / "ckd-metastatic-high-phosphate.json"


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read() if proc.stderr else b""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err.decode(errors='replace')}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--format", default="json", choices=["json", "text", "markdown", "fhir"])
    parser.add_argument("--before", type=Path, help="another source tree to time the same command from")
    parser.add_argument("--cold", action="store_true", help="also time runs with an empty cache directory")
    args = parser.parse_args()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("CALCINOSIS_")}
    base_env.pop("PYTHONPATH", None)
    cli = [sys.executable, "-m", "calcinosis", "assess", str(CASE), "-f", args.format]
    series: dict[str, tuple[list[str], dict[str, str]]] = {
        "bare interpreter (python -c pass)": ([sys.executable, "-c", "pass"], base_env),
        f"calcinosis assess -f {args.format}": (cli, base_env),
    }
    if args.before is not None:
        # Its own cache folder: the cache keeps one file per kind and key, so two source trees sharing one
        # folder would rebuild each other's pack cache on every run.
        before_cache = tempfile.mkdtemp(prefix="calcinosis-bench-before-cache-")
        series[f"before ({args.before})"] = (
            cli,
            {**base_env, "PYTHONPATH": str(args.before), "CALCINOSIS_CACHE_DIR": before_cache},
        )
    # An installed package has its bytecode compiled (pip does it; so does a first import unless
    # PYTHONDONTWRITEBYTECODE is set): compile it here too, so that no run pays for compiling sources.
    for tree in {Path(calcinosis.__file__).parent, *([args.before / "calcinosis"] if args.before else [])}:
        compileall.compile_dir(tree, quiet=1)
    for cmd, env in series.values():
        run(cmd, env)  # warm the OS file cache and the pack cache
    walls: dict[str, list[float]] = {k: [] for k in series}
    cpus: dict[str, list[float]] = {k: [] for k in series}
    for _ in range(args.runs):
        for name, (cmd, env) in series.items():
            wall, cpu = run(cmd, env)
            walls[name].append(wall)
            cpus[name].append(cpu)
    cold: list[float] = []
    if args.cold:
        for _ in range(max(args.runs // 5, 3)):
            with tempfile.TemporaryDirectory() as empty:
                cold.append(run(cli, {**base_env, "CALCINOSIS_CACHE_DIR": empty})[0])
    bare = statistics.median(walls[next(iter(series))])
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, {args.runs} interleaved runs each")
    print(f"{'command':<52}{'wall (median)':>15}{'CPU (median)':>15}{'x bare start':>14}")
    for name in series:
        w, c = statistics.median(walls[name]), statistics.median(cpus[name])
        print(f"{name:<52}{w * 1000:>12.1f} ms{c * 1000:>12.1f} ms{w / bare:>13.1f}x")
    if cold:
        print(f"{'  same, empty cache (pack built from YAML)':<52}{statistics.median(cold) * 1000:>12.1f} ms")
    after = statistics.median(walls[f"calcinosis assess -f {args.format}"])
    print(
        f"target <= 0.3 s wall: {'met' if after <= 0.3 else 'NOT met'} ({after:.3f} s); "
        f"target <= 25x bare start: {'met' if after / bare <= 25 else 'NOT met'} ({after / bare:.1f}x)"
    )


if __name__ == "__main__":
    main()
