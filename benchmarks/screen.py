"""Population screening: rate and peak memory of each engine against two baselines measured in the same run.

    python benchmarks/screen.py [--sizes 10000 100000] [--million] [--engines duckdb spark] [--work DIR]

For each size a synthetic export is written once (``calcinosis synth``, cached under --work), then each
measurement runs in its own process while the parent samples that process tree's RSS from /proc:

  scan-duckdb     baseline: DuckDB reading every line of the same files with an explicit schema
                  (resourceType, subject): the floor any screen pays
  python-lines    baseline: a plain Python loop over the lines (gzip aware), no parsing
  python-json     the same loop parsing each line with orjson (what a pure-Python screen would pay)
  select-<engine> the engine's part of a screen: selection, bad lines, grouping, all groups handed to
                  Python (no FHIR reader, no assessment)
  noassess-<engine> the whole screen as `calcinosis screen` runs it (file check, selection, grouping,
                  groups handed to Python, outputs, report) with the per-patient reading and assessment
                  left out: "the whole run excluding assessment time"
  screen-<engine> the whole screen as `calcinosis screen` runs it (reader, engine, outputs, report)

Columns: `seconds` is the measured section's wall time (engine start-up excluded, see the screen rows
for it); `cpu s` is the whole child process tree's user+system CPU time (start-up included), which the
load of other processes on a shared machine hardly changes; `res/s` and `res/cpu-s` are lines of the
export per wall second and per CPU second (= per core); `x scan` and `x scan cpu` are the rates relative
to scan-duckdb of the same size; `sel/s` is patients selected (and assessed) per second. Targets (issue 12):
the whole run excluding assessment (noassess) at least 0.25x the bare-scan rate; with assessments at least
300 selected patients/s on 2 cores; peak memory at most 1 GiB at 1M patients. `--repeat N` keeps the
fastest of N runs. `--coding synthea --gzip` writes the export as Synthea codes it, gzipped (realistic).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from calcinosis.screen.monitor import tree_rss_kb

CORES = os.cpu_count() or 1
BAD_LINE_RATE = 0.001  # calcinosis synth's default
AS_OF = dt.date(2026, 1, 15)


# ---------------------------------------------------------------------- measurements (child side)
def _files(export: Path) -> list[Path]:
    from calcinosis.screen.ndjson import find_export_files

    return list(find_export_files(export).all_files)


def measure(kind: str, export: Path, out: Path, workers: int | None) -> dict[str, Any]:
    t0 = time.perf_counter()
    extra: dict[str, Any] = {}
    if kind == "scan-duckdb":
        import duckdb

        files = [str(p) for p in _files(export)]
        with duckdb.connect() as con:
            con.execute(f"SET threads = {CORES}")
            con.execute("SET memory_limit = '384MB'")
            con.execute("SET preserve_insertion_order = false")
            rows, subjects = con.execute(
                "SELECT count(*), count(subject.reference) FROM read_ndjson(?, "
                "columns = {'resourceType': 'VARCHAR', 'subject': 'STRUCT(reference VARCHAR)'}, ignore_errors = true)",
                [files],
            ).fetchall()[0]
        extra = {"lines": rows, "with_subject": subjects}
    elif kind in ("python-lines", "python-json"):
        n = 0
        for path in _files(export):
            opener = gzip.open if path.name.endswith(".gz") else open
            with opener(path, "rb") as handle:
                for line in handle:
                    if kind == "python-json":
                        try:
                            orjson.loads(line)
                        except orjson.JSONDecodeError:
                            pass
                    n += 1
        extra = {"lines": n}
    elif kind.startswith("select-"):
        from calcinosis.screen.backends import BackendSettings, get_backend
        from calcinosis.screen.ndjson import find_export_files
        from calcinosis.screen.selection import load_selection

        backend_class = get_backend(kind.removeprefix("select-"))
        settings = BackendSettings(threads=CORES, memory_mb=384, work_dir=out)
        with backend_class(settings) as backend:
            t0 = time.perf_counter()  # engine start-up (Spark session) is reported with the screen
            counts = backend.scan(find_export_files(export), load_selection())
            bad = sum(1 for _ in backend.bad_lines())
            resources = sum(len(g.resources) for g in backend.groups())
        extra = {"selected": counts.patients_selected, "grouped_resources": resources, "bad_lines": bad}
    elif kind.startswith(("screen-", "noassess-")):
        from calcinosis.screen import ScreenOptions, run_screen

        if kind.startswith("noassess-"):
            import calcinosis.screen.pipeline as pipeline

            def consume(groups: Any, *_: Any, **__: Any) -> Any:
                for _group in groups:  # every group still made by the engine and handed to Python
                    pass
                return iter(())

            setattr(pipeline, "assess_groups", consume)  # noqa: B010 - the benchmark leaves assessment out

        result = run_screen(
            ScreenOptions(
                export,
                out,
                engine=kind.split("-", 1)[1],
                as_of=AS_OF,
                workers=workers,
                progress=False,
            )
        )
        f = result.figures
        extra = {
            "selected": result.counts.patients_selected,
            "assessed": result.tally.assessed,
            "engine_s": round(f.scan_seconds, 2),
            "assess_s": round(f.assess_seconds, 2),
            "workers": f.workers,
        }
    else:
        raise SystemExit(f"unknown measurement {kind}")
    return {"seconds": time.perf_counter() - t0, **extra}


# ---------------------------------------------------------------------- driver (parent side)
TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu_ticks(pid: int) -> dict[int, int]:
    """utime + stime (clock ticks) of a process and its descendants, from /proc."""
    out: dict[int, int] = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            out[p] = int(fields[11]) + int(fields[12])
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError, IndexError):
            continue
    return out


def run_child(kind: str, export: Path, out: Path, workers: int | None) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    cmd = [sys.executable, __file__, "--measure", kind, "--export", str(export), "--out", str(out)]
    if workers:
        cmd += ["--workers", str(workers)]
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = 0
    ticks: dict[int, int] = {}
    while proc.poll() is None:
        peak = max(peak, tree_rss_kb(proc.pid))
        ticks.update(tree_cpu_ticks(proc.pid))
        time.sleep(0.05)
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Waited-for children are in the rusage; a JVM that outlives its parent's wait is only in the samples.
    cpu = max(
        (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), sum(ticks.values()) / TICK
    )
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    result.update(wall=time.perf_counter() - started, peak_mb=peak / 1024, cpu=cpu)
    shutil.rmtree(out, ignore_errors=True)
    return result


def ensure_export(
    work: Path,
    patients: int,
    seed: int,
    coding: str = "mixed",
    compress: bool = False,
    bad_line_rate: float = BAD_LINE_RATE,
) -> tuple[Path, dict[str, Any]]:
    export = work / (
        f"export-{patients}-{seed}{'' if coding == 'mixed' else '-' + coding}{'-gz' if compress else ''}"
        + ("" if bad_line_rate == BAD_LINE_RATE else f"-bad{bad_line_rate:g}")
    )
    stamp = export / "synth.json"
    if not stamp.exists():
        from calcinosis.synth import generate_export

        shutil.rmtree(export, ignore_errors=True)
        t0 = time.perf_counter()
        summary = generate_export(
            export, patients, seed, coding=coding, compress=compress, bad_line_rate=bad_line_rate
        )
        info = {
            "resources": sum(summary.resources.values()) + sum(summary.bad_lines.values()),
            "bytes": sum(p.stat().st_size for p in export.glob("*.ndjson*")),
            "synth_seconds": round(time.perf_counter() - t0, 1),
        }
        stamp.write_text(json.dumps(info))
    return export, json.loads(stamp.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--million", action="store_true", help="also run 1,000,000 patients (long)")
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark"])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "calcinosis-bench")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; the fastest is kept")
    parser.add_argument("--no-screen", action="store_true", help="skip the full screens (engine parts only)")
    parser.add_argument(
        "--coding", choices=["mixed", "synthea"], default="mixed", help="how the export is coded"
    )
    parser.add_argument("--gzip", action="store_true", help="write the export gzipped")
    parser.add_argument(
        "--bad-line-rate",
        type=float,
        default=BAD_LINE_RATE,
        help="share of lines the export damages on purpose (0: a clean export, as Synthea writes it)",
    )
    parser.add_argument(
        "--only", nargs="+", help="measure only these (e.g. scan-duckdb noassess-duckdb screen-duckdb)"
    )
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--export", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.export, args.out, args.workers)))
        return
    sizes = [*args.sizes, *([1_000_000] if args.million else [])]
    kinds = ["scan-duckdb", "python-lines", "python-json"] + [f"select-{e}" for e in args.engines]
    if not args.no_screen:
        kinds += [f"noassess-{e}" for e in args.engines] + [f"screen-{e}" for e in args.engines]
    if args.only:
        kinds = ["scan-duckdb", *(k for k in args.only if k != "scan-duckdb")]
    print(f"cores: {CORES}; work: {args.work}")
    table: dict[tuple[int, str], dict[str, Any]] = {}
    for n in sizes:
        export, info = ensure_export(args.work, n, args.seed, args.coding, args.gzip, args.bad_line_rate)
        print(
            f"\n== {n:,} patients: {info['resources']:,} lines, {info['bytes'] / 2**20:,.0f} MiB "
            f"(synth {info['synth_seconds']} s)"
        )
        print(
            f"{'measurement':<16}{'seconds':>9}{'cpu s':>8}{'res/s':>11}{'res/cpu-s':>11}{'pat/s':>9}"
            f"{'sel/s':>8}{'peak MiB':>9}{'x scan':>8}{'x scan cpu':>11}  notes"
        )
        for kind in kinds:
            runs = [run_child(kind, export, args.work / "out", args.workers) for _ in range(args.repeat)]
            r = min(runs, key=lambda x: x["seconds"])  # best of N: the machine is shared
            r["peak_mb"] = max(x["peak_mb"] for x in runs)
            table[(n, kind)] = r
            rate = info["resources"] / r["seconds"]
            base = table[(n, "scan-duckdb")]
            notes = {k: v for k, v in r.items() if k not in {"seconds", "wall", "peak_mb", "cpu"}}
            print(
                f"{kind:<16}{r['seconds']:>9.2f}{r['cpu']:>8.1f}{rate:>11,.0f}{info['resources'] / r['cpu']:>11,.0f}"
                f"{n / r['seconds']:>9,.0f}{r.get('selected', 0) / r['seconds']:>8,.0f}"
                f"{r['peak_mb']:>9,.0f}{base['seconds'] / r['seconds']:>8.2f}"
                f"{base['cpu'] / r['cpu']:>11.2f}  {notes}"
            )
    if len(sizes) > 1:
        print("\n== growth from the smallest to each larger size (time ratio / memory ratio; N ratio)")
        small = sizes[0]
        for n in sizes[1:]:
            for kind in kinds:
                a, b = table[(small, kind)], table[(n, kind)]
                print(
                    f"{kind:<16} N x{n / small:>5.0f}: time x{b['seconds'] / a['seconds']:>6.1f}, "
                    f"peak memory x{b['peak_mb'] / a['peak_mb']:>5.2f} ({a['peak_mb']:,.0f} -> {b['peak_mb']:,.0f} MiB)"
                )
    print(
        "\ntargets: noassess rate >= 0.25 x scan-duckdb; screen >= 300 selected patients/s on 2 cores; "
        "peak <= 1 GiB at 1M patients"
    )


if __name__ == "__main__":
    main()
