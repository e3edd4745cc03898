"""Spark and DuckDB run the same selection and grouping: identical results on the same export."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from calcinosis.screen import ScreenOptions, ScreenResult, run_screen
from tests.screen.conftest import AS_OF, BULK

pyspark = pytest.importorskip("pyspark", reason="the spark extra is not installed (make test installs it)")
if shutil.which("java") is None:  # pragma: no cover - make test installs Java (scripts/system-deps.sh)
    pytest.skip("Java is not installed (scripts/system-deps.sh installs it)", allow_module_level=True)

pytestmark = pytest.mark.spark
EXPECTED = json.loads((BULK / "mixed-clinic" / "expected.json").read_text())


def _same_outputs(a: Path, b: Path) -> None:
    assert (a / "assessments.ndjson").read_bytes() == (b / "assessments.ndjson").read_bytes()
    qa, qb = a / "quarantine", b / "quarantine"
    names = sorted(p.name for p in qa.iterdir()) if qa.exists() else []
    assert names == (sorted(p.name for p in qb.iterdir()) if qb.exists() else [])
    for name in names:
        assert (qa / name).read_bytes() == (qb / name).read_bytes(), name


def test_spark_gives_the_same_results_as_duckdb_when_screening_the_same_export(
    spark_session: object, small_export: Path, small_screen: ScreenResult, tmp_path: Path
) -> None:
    result = run_screen(
        ScreenOptions(
            small_export, tmp_path / "spark", engine="spark", as_of=AS_OF, workers=1, progress=False
        )
    )
    assert result.figures.engine == "spark"
    assert result.counts == small_screen.counts
    assert result.quarantined == small_screen.quarantined
    _same_outputs(small_screen.out_dir, tmp_path / "spark")


def test_spark_reads_gz_and_bad_lines_like_duckdb_when_given_the_golden_export(
    spark_session: object, mixed_clinic: Path, tmp_path: Path
) -> None:
    as_of = dt.date.fromisoformat(EXPECTED["as_of"])
    runs = {
        engine: run_screen(
            ScreenOptions(mixed_clinic, tmp_path / engine, engine=engine, as_of=as_of, progress=False)
        )
        for engine in ("duckdb", "spark")
    }
    assert runs["spark"].counts == runs["duckdb"].counts
    assert runs["spark"].quarantined == EXPECTED["quarantine"]
    _same_outputs(tmp_path / "duckdb", tmp_path / "spark")


def test_spark_selects_the_same_patients_as_duckdb_when_the_export_is_coded_like_synthea(
    spark_session: object, tmp_path: Path
) -> None:
    from calcinosis.synth import generate_export

    export = tmp_path / "synthea"
    generate_export(export, 120, seed=23, coding="synthea", bad_line_rate=0.0)
    runs = {
        engine: run_screen(
            ScreenOptions(export, tmp_path / engine, engine=engine, as_of=AS_OF, workers=1, progress=False)
        )
        for engine in ("duckdb", "spark")
    }
    assert runs["spark"].counts == runs["duckdb"].counts
    assert runs["spark"].not_assessable == runs["duckdb"].not_assessable == 0
    _same_outputs(tmp_path / "duckdb", tmp_path / "spark")
