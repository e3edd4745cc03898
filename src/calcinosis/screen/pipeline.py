"""A population screen end to end: find files → engine selects and groups → FHIR reader → engine → outputs.

The engine backend does everything that touches every line (reading, setting bad lines aside, picking
patients, grouping their resources); Python only sees picked patients, one group at a time, and runs the
same FHIR reader and assessment as ``calcinosis assess``.

Nothing is lost without a word. Before the engine reads, every file is checked (``integrity``): bad lines
and damaged files are set aside and the engine reads clean copies. A file the manifest lists but that is
missing, or a resource type with no file, stops the run (exit 2) unless allowed with ``allow_missing``.
Every gap (a type missing, a file damaged or unreadable) becomes an input issue on every assessment.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from calcinosis.errors import EXIT_OK, EXIT_QUARANTINED, InputError
from calcinosis.fhir.resources import HOLDS
from calcinosis.pack import load_pack_cached
from calcinosis.patient.models import InputIssue
from calcinosis.screen.backends import get_backend
from calcinosis.screen.backends.base import BackendSettings, ScanCounts
from calcinosis.screen.integrity import FileFault, check_export
from calcinosis.screen.monitor import PeakMemory, progress_bar, status
from calcinosis.screen.ndjson import RESOURCE_TYPES, SELECTOR_TYPES, ExportFiles, find_export_files
from calcinosis.screen.outputs import ResultWriter, Tally
from calcinosis.screen.quarantine import BadLine, BadLineReason, QuarantineWriter
from calcinosis.screen.report import RunFigures, render_report
from calcinosis.screen.selection import load_selection
from calcinosis.screen.workers import assess_groups

# Below this many picked patients, starting worker processes costs more than it saves (unless asked).
POOL_THRESHOLD = 200
# Each engine thread reading NDJSON holds buffers of about this size (DuckDB: 2 x 16 MiB object limit).
MEMORY_PER_THREAD_MB = 64
# The whole process tree stays under this by default: the engine's limit, the main Python process beside
# it, and one assessment worker per core only as long as they fit (measured: a worker is about 70-100 MiB).
MEMORY_BUDGET_MB = 1024
MAIN_PROCESS_MB = 256
WORKER_MB = 128
# What the engine does not learn about a patient when a resource type is not read.
# What is not read when a type's file is missing or damaged.
NOT_READ: dict[str, str] = {t: HOLDS[t] for t in RESOURCE_TYPES}


def default_workers(cores: int, memory_mb: int) -> int:
    """Assessment processes: one per core, as many as fit in the memory budget beside the engine."""
    fit = (MEMORY_BUDGET_MB - memory_mb - MAIN_PROCESS_MB) // WORKER_MB
    return max(1, min(cores, fit))


@dataclass(frozen=True)
class ScreenOptions:
    export_dir: Path
    out_dir: Path
    engine: str = "duckdb"
    spark_master: str = "local[*]"
    as_of: dt.date | None = None
    workers: int | None = None
    threads: int | None = None
    memory_mb: int = 384
    progress: bool | None = None
    allow_missing: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Gap:
    """A resource type the screen could not read in full: missing (allowed), or a damaged/unreadable file."""

    resource_type: str
    location: str
    message: str
    missing: bool = False
    why: str = ""

    def issue(self) -> InputIssue:
        return InputIssue(location=self.location, message=self.message)


@dataclass
class ScreenResult:
    counts: ScanCounts
    tally: Tally
    quarantined: dict[str, int]
    not_assessable: int
    figures: RunFigures
    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    faults: tuple[FileFault, ...] = ()
    gaps: tuple[Gap, ...] = ()
    incomplete: int = 0

    @property
    def set_aside(self) -> int:
        return sum(self.quarantined.values())

    @property
    def exit_code(self) -> int:
        return EXIT_QUARANTINED if self.set_aside else EXIT_OK


def _prepare_out(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out_dir / "quarantine", ignore_errors=True)


def missing_gaps(export: ExportFiles, allowed: frozenset[str]) -> tuple[Gap, ...]:
    """Types with a listed file missing or no file at all. Raises InputError naming those not allowed."""
    unknown = sorted(allowed - set(RESOURCE_TYPES))
    if unknown:
        raise InputError(
            f"--allow-missing: {', '.join(unknown)} is not a resource type the screen reads "
            f"({', '.join(RESOURCE_TYPES)})"
        )
    gaps: list[Gap] = []
    refused: list[str] = []
    for rtype in RESOURCE_TYPES:
        absent = ", ".join(p.name for p in export.missing.get(rtype, ()))
        present = bool(export.by_type.get(rtype))
        what = NOT_READ[rtype]
        if absent and present:
            why = f"manifest.json lists {absent}, which is missing"
            message = f"{rtype} export incomplete ({absent} listed in manifest.json but missing): some {what} not read"
        elif absent:
            why = f"manifest.json lists {absent}, which is missing"
            message = f"{rtype} export missing: {what} not read"
        elif not present:
            why = "no file in the export"
            message = f"{rtype} export missing: {what} not read"
        else:
            continue
        if rtype in allowed:
            gaps.append(Gap(rtype, f"export/{rtype}", message, missing=True, why=why))
        else:
            refused.append(f"{rtype}: {why}")
    if refused:
        flags = " ".join(f"--allow-missing {r.split(':')[0]}" for r in refused)
        raise InputError(
            f"{export.root}: {'; '.join(refused)} (to screen without them, every assessment saying so: {flags})"
        )
    return tuple(gaps)


def fault_gap(fault: FileFault) -> Gap:
    what = NOT_READ[fault.resource_type]
    if fault.reason is BadLineReason.DAMAGED_FILE:
        message = f"{fault.resource_type} export damaged ({fault.file}: {fault.detail}): {what} after the damage not read"
    else:
        message = (
            f"{fault.resource_type} export unreadable ({fault.file}: {fault.detail}): {what} in it not read"
        )
    return Gap(fault.resource_type, f"export/{fault.file}", message)


def run_screen(options: ScreenOptions) -> ScreenResult:
    """Screen one export into ``options.out_dir``. Raises InputError for an unusable export or option."""
    started = time.perf_counter()
    backend_class = get_backend(options.engine)
    export = find_export_files(options.export_dir)
    gaps = missing_gaps(export, options.allow_missing)
    _prepare_out(options.out_dir)
    selection = load_selection()
    pack = load_pack_cached()
    cores = os.cpu_count() or 1
    threads = options.threads or min(cores, 4)
    if options.memory_mb < MEMORY_PER_THREAD_MB * threads:
        raise InputError(
            f"--memory-mb: at least {MEMORY_PER_THREAD_MB * threads} for {threads} engine thread(s) "
            f"(the JSON reader needs about {MEMORY_PER_THREAD_MB} MiB per thread)"
        )
    with PeakMemory() as memory, tempfile.TemporaryDirectory(prefix=".work-", dir=options.out_dir) as work:
        settings = BackendSettings(
            threads=threads,
            memory_mb=options.memory_mb,
            work_dir=Path(work),
            spark_master=options.spark_master,
        )
        with backend_class(settings) as backend, QuarantineWriter(options.out_dir) as quarantine:
            with status(f"reading {export.root} with {backend_class.name}", options.progress):
                check_started = time.perf_counter()
                checked = check_export(export, Path(work), quarantine.add, threads)
                for fault in checked.faults:
                    quarantine.add(BadLine(fault.file, fault.reason, None, fault.detail))
                if not checked.export.all_files:
                    raise InputError(f"{export.root}: no file of the export could be read (see quarantine/)")
                gaps += tuple(fault_gap(f) for f in checked.faults)
                inspected = time.perf_counter()
                counts = backend.scan(checked.export, selection)
                for bad in backend.bad_lines():
                    quarantine.add(bad)
            scanned = time.perf_counter()
            workers = options.workers or (
                default_workers(cores, options.memory_mb) if counts.patients_selected >= POOL_THRESHOLD else 1
            )
            not_assessable = 0
            with (
                ResultWriter(options.out_dir, Path(work)) as writer,
                progress_bar(counts.patients_selected, "assessing", options.progress) as advance,
            ):
                issues = tuple(g.issue() for g in gaps)
                for result in assess_groups(backend.groups(), pack, options.as_of, workers, issues):
                    if result.error is not None:
                        not_assessable += 1
                        text = result.bundle.decode() if result.bundle else None
                        detail = f"Patient/{result.patient_id}: {result.error}"
                        quarantine.add(
                            BadLine("patients", BadLineReason.PATIENT_NOT_ASSESSABLE, text, detail)
                        )
                    else:
                        writer.add(result)
                    advance(1)
                writer.finish(threads, options.memory_mb)
            assessed = time.perf_counter()
            quarantined = dict(sorted(quarantine.counts.items()))
        figures = RunFigures(
            engine=backend_class.name,
            export_dir=str(options.export_dir),
            export_bytes=export.total_bytes,
            files_read=[str(p) for p in export.all_files],
            files_not_read=[str(p) for p in export.not_read],
            workers=workers,
            check_seconds=inspected - check_started,
            scan_seconds=scanned - started - (inspected - check_started),
            assess_seconds=assessed - scanned,
            pack=f"{pack.meta.id} {pack.meta.version} ({pack.short_hash})",
            files_set_aside=[(f.file, f.resource_type, f.reason.value, f.detail) for f in checked.faults],
            missing=[
                (g.resource_type, f"{g.why}; every assessment says: {g.message}") for g in gaps if g.missing
            ],
            incomplete=writer.tally.assessed if gaps else 0,
            selection_gaps=sorted({g.resource_type for g in gaps if g.resource_type in SELECTOR_TYPES}),
        )
    figures.total_seconds = time.perf_counter() - started
    figures.peak_rss_mb = memory.peak_mb
    report = render_report(figures, counts, writer.tally, quarantined, not_assessable, pack.meta.disclaimer)
    (options.out_dir / "report.html").write_text(report, encoding="utf-8")
    return ScreenResult(
        counts=counts,
        tally=writer.tally,
        quarantined=quarantined,
        not_assessable=not_assessable,
        figures=figures,
        out_dir=options.out_dir,
        files={
            "assessments": writer.assessments_path,
            "parquet": writer.parquet_path,
            "report": options.out_dir / "report.html",
        },
        faults=checked.faults,
        gaps=gaps,
        incomplete=figures.incomplete,
    )
