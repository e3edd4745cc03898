"""`calcinosis screen` (screen a FHIR bulk export) and `calcinosis synth` (write a synthetic one)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from calcinosis.commands.guard import date_option
from calcinosis.errors import InputError

ExportDir = Annotated[Path, typer.Argument(help="Folder of a FHIR Bulk Data export (NDJSON, plain or .gz).")]
OutDir = Annotated[
    Path, typer.Option("--out", "-o", help="Folder for assessments, Parquet table and report.")
]
Engine = Annotated[str, typer.Option("--engine", help="Selection engine: duckdb (default) or spark.")]
SparkMaster = Annotated[
    str, typer.Option("--spark-master", help="Spark master URL (spark engine only), e.g. spark://host:7077.")
]
AsOf = Annotated[str | None, typer.Option("--as-of", help="Date (YYYY-MM-DD) ages are computed at.")]
Workers = Annotated[
    int | None,
    typer.Option(
        "--workers", min=1, help="Assessment processes (default: one per core, as many as fit in 1 GiB)."
    ),
]
Threads = Annotated[
    int | None, typer.Option("--threads", min=1, help="Engine threads (default: cores, at most 4).")
]
MemoryMb = Annotated[int, typer.Option("--memory-mb", help="Engine memory before it spills to disk, MiB.")]
AllowMissing = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-missing",
        metavar="TYPE",
        help="Screen although this resource type's file is missing (repeatable); every assessment says so.",
    ),
]
Patients = Annotated[int, typer.Option("--patients", "-n", min=1, help="Number of patients.")]
SynthOut = Annotated[Path, typer.Option("--out", "-o", help="Folder to create (must be empty).")]
Seed = Annotated[int, typer.Option("--seed", help="Seed: the same seed gives the same export.")]
Gzip = Annotated[bool, typer.Option("--gzip", help="Write .ndjson.gz files.")]
Coding = Annotated[
    str,
    typer.Option(
        "--coding",
        help="mixed: each patient's site codes in ICD-10-CM, SNOMED CT or text; synthea: SNOMED CT as Synthea writes it.",
    ),
]
Courses = Annotated[
    bool,
    typer.Option(
        "--courses", help="Also write registry.ndjson: courses and visits of the patients with calcinosis."
    ),
]
BadLineRate = Annotated[
    float, typer.Option("--bad-line-rate", min=0.0, max=1.0, help="Share of lines damaged on purpose.")
]


def register(app: typer.Typer) -> None:
    from calcinosis.commands.guard import guarded

    @app.command("screen")
    @guarded
    def screen_cmd(
        export_dir: ExportDir,
        out: OutDir,
        engine: Engine = "duckdb",
        spark_master: SparkMaster = "local[*]",
        as_of: AsOf = None,
        workers: Workers = None,
        threads: Threads = None,
        memory_mb: MemoryMb = 384,
        allow_missing: AllowMissing = None,
    ) -> None:
        """Screen a population: pick patients in the engine, assess each like `calcinosis assess`, report."""
        from calcinosis.screen import ScreenOptions, run_screen

        if engine != "spark" and spark_master != "local[*]":
            raise InputError("--spark-master: only used with --engine spark")
        result = run_screen(
            ScreenOptions(
                export_dir=export_dir,
                out_dir=out,
                engine=engine,
                spark_master=spark_master,
                as_of=date_option(as_of, "--as-of"),
                workers=workers,
                threads=threads,
                memory_mb=memory_mb,
                allow_missing=frozenset(allow_missing or ()),
            )
        )
        c, f = result.counts, result.figures
        typer.echo(
            f"screened {result.tally.assessed:,} of {c.patients_in_export:,} patients "
            f"({c.resources_read:,} resources) with {f.engine} in {f.total_seconds:,.1f} s; "
            f"peak memory {f.peak_rss_mb:,.0f} MiB"
        )
        typer.echo(f"report: {result.files['report']}")
        if result.set_aside:
            reasons = ", ".join(f"{n:,} {r}" for r, n in result.quarantined.items())
            typer.echo(f"set aside: {reasons} (see {out / 'quarantine'})", err=True)
        missing = sorted({g.resource_type for g in result.gaps if g.missing})
        if missing:
            typer.echo(f"missing (allowed): {', '.join(missing)}", err=True)
        if result.incomplete:
            typer.echo(
                f"incomplete: {result.incomplete:,} assessments made without part of the export (see the report)",
                err=True,
            )
        raise typer.Exit(result.exit_code)

    @app.command("synth")
    @guarded
    def synth_cmd(
        patients: Patients,
        out: SynthOut,
        seed: Seed = 1,
        gzip: Gzip = False,
        bad_line_rate: BadLineRate = 0.001,
        coding: Coding = "mixed",
        courses: Courses = False,
    ) -> None:
        """Write a synthetic FHIR Bulk Data export (NDJSON per resource type) for tests and benchmarks."""
        from calcinosis.synth import generate_export

        summary = generate_export(
            out, patients, seed, compress=gzip, bad_line_rate=bad_line_rate, coding=coding
        )
        total = sum(summary.resources.values())
        bad = sum(summary.bad_lines.values())
        typer.echo(f"wrote {patients:,} patients, {total:,} resources and {bad:,} damaged lines to {out}")
        if courses:  # treatment registry lines (docs/registry.md)
            from calcinosis.registry.synth import write_for_export

            typer.echo(
                f"wrote registry lines for {write_for_export(out, seed):,} patients to {out / 'registry.ndjson'}"
            )
