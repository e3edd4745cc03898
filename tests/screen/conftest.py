"""Fixtures for screening: small synthetic exports (fixed seeds) and screens of them, built once."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import shutil
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from calcinosis.screen import ScreenOptions, ScreenResult, run_screen
from calcinosis.screen.backends.base import BackendSettings
from calcinosis.screen.ndjson import (
    RESOURCE_TYPES,
    bundle_from_lines,
    find_export_files,
    patient_id_from_reference,
)
from calcinosis.synth import generate_export

ROOT = Path(__file__).resolve().parents[2]
BULK = ROOT / "tests" / "data" / "bulk"
AS_OF = dt.date(2026, 1, 15)
SMALL_PATIENTS = 400
SMALL_SEED = 11


def read_ndjson(path: Path) -> list[bytes]:
    raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    return [line for line in raw.splitlines() if line.strip()]


def bundles_by_patient(export_dir: Path) -> dict[str, bytes]:
    """Each patient's resources as a collection Bundle, built in plain Python (independent of the engines)."""
    export = find_export_files(export_dir)
    lines: dict[str, list[bytes]] = defaultdict(list)
    for path in export.all_files:
        for line in read_ndjson(path):
            try:
                resource = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(resource, dict) or resource.get("resourceType") not in RESOURCE_TYPES:
                continue  # set aside by the screen: not part of the patient's record
            if resource.get("resourceType") == "Patient":
                pid = resource.get("id")
            else:
                pid = patient_id_from_reference((resource.get("subject") or {}).get("reference"))
            if isinstance(pid, str) and pid:
                lines[pid].append(line)
    return {pid: bundle_from_lines(group) for pid, group in lines.items()}


def assessments(out_dir: Path) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for line in (out_dir / "assessments.ndjson").read_bytes().splitlines():
        record = orjson.loads(line)
        out[record["patient_id"]] = record["assessment"]
    return out


@pytest.fixture(scope="session")
def small_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bulk") / "small"
    generate_export(out, SMALL_PATIENTS, SMALL_SEED, bad_line_rate=0.004)
    return out


@pytest.fixture(scope="session")
def small_export_gz(tmp_path_factory: pytest.TempPathFactory, small_export: Path) -> Path:
    out = tmp_path_factory.mktemp("bulk") / "small-gz"
    out.mkdir()
    for path in small_export.iterdir():
        if path.name.endswith(".ndjson"):
            (out / f"{path.name}.gz").write_bytes(gzip.compress(path.read_bytes(), mtime=0))
    return out


@pytest.fixture(scope="session")
def small_screen(tmp_path_factory: pytest.TempPathFactory, small_export: Path) -> ScreenResult:
    out = tmp_path_factory.mktemp("screen") / "duckdb"
    return run_screen(ScreenOptions(small_export, out, as_of=AS_OF, workers=1, progress=False))


@pytest.fixture
def mixed_clinic(tmp_path: Path) -> Path:
    """A copy of the hand-written export (tests must not write into tests/data)."""
    target = tmp_path / "export"
    shutil.copytree(BULK / "mixed-clinic" / "export", target)
    return target


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One local Spark session for every Spark test (it takes seconds to start); the backend reuses it."""
    pytest.importorskip("pyspark", reason="the spark extra is not installed (make test installs it)")
    if shutil.which("java") is None:  # pragma: no cover - make test installs Java (scripts/system-deps.sh)
        pytest.skip("Java is not installed (scripts/system-deps.sh installs it)")
    from pyspark.sql import SparkSession

    from calcinosis.screen.backends.spark import SparkBackend

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    work = tmp_path_factory.mktemp("spark")
    conf = SparkBackend(BackendSettings(threads=2, work_dir=work)).spark_conf()
    builder = SparkSession.builder.master("local[2]").appName("calcinosis-tests")
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


# Every screening fault is tested on both engines; Spark runs in local mode with the session above.
ENGINES = [pytest.param("duckdb"), pytest.param("spark", marks=pytest.mark.spark)]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "spark":
        request.getfixturevalue("spark_session")
    return name
