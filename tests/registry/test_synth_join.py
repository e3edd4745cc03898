"""`calcinosis synth --courses`, `registry import`, `screen` and `registry export`: the registry tables join
the screening report's table by patient id in DuckDB, as docs/registry.md shows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import orjson

from calcinosis.registry import open_registry
from calcinosis.registry.synth import SCENARIO_SUBTYPES, synthetic_patient
from calcinosis.settings import load_settings
from tests.servicekit.server import clean_environ


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**clean_environ(), "CALCINOSIS_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run(
        [sys.executable, "-m", "calcinosis", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def test_registry_export_joins_the_screening_table_when_both_come_from_one_synthetic_export(
    tmp_path: Path,
) -> None:
    export, out, tables = tmp_path / "export", tmp_path / "screen", tmp_path / "registry"
    made = _cli(tmp_path, "synth", "-n", "600", "-o", str(export), "--courses", "--bad-line-rate", "0")
    assert made.returncode == 0, made.stderr
    truth = [line.split("\t") for line in (export / "scenarios.tsv").read_text().splitlines()[1:]]
    expected = {pid for pid, scenario, *_ in truth if scenario in SCENARIO_SUBTYPES}
    lines = [orjson.loads(line) for line in (export / "registry.ndjson").read_bytes().splitlines()]
    assert {d["patient_id"] for d in lines} == expected and expected
    assert all(
        c["dose"] is None if "dose" in c else True for d in lines for c in d["courses"]
    )  # no invented doses

    assert _cli(tmp_path, "registry", "import", str(export)).returncode == 0
    assert _cli(tmp_path, "screen", str(export), "--out", str(out)).returncode in (0, 1)
    assert _cli(tmp_path, "registry", "export", "--parquet", str(tables)).returncode == 0
    with duckdb.connect() as con:
        joined = con.execute(
            f"SELECT a.subtype, c.therapy, c.response, count(*) AS courses "  # noqa: S608 - paths from the test
            f"FROM '{out}/assessments.parquet' a JOIN '{tables}/courses.parquet' c USING (patient_id) "
            "GROUP BY ALL"
        ).fetchall()
        courses = con.execute(f"SELECT count(*) FROM '{tables}/courses.parquet'").fetchone()  # noqa: S608
        screened = {
            r[0]
            for r in con.execute(f"SELECT patient_id FROM '{out}/assessments.parquet'").fetchall()  # noqa: S608
        }
    assert courses is not None and sum(r[3] for r in joined) == courses[0] == sum(
        len(d["courses"]) for d in lines
    )
    assert expected <= screened  # every registry patient was picked by the screen
    assert {r[2] for r in joined} <= {"complete", "partial", "none", "progression", "not-judged"}


def test_synthetic_lines_are_deterministic_and_load_whole_when_imported(tmp_path: Path) -> None:
    assert synthetic_patient("p0000007", "dystrophic", seed=3) == synthetic_patient(
        "p0000007", "dystrophic", seed=3
    )
    bad = tmp_path / "registry.ndjson"
    good = synthetic_patient("p1", "metastatic")
    wrong = {
        **synthetic_patient("p2", "dystrophic"),
        "courses": [{"ref": 1, "therapy": "snake-oil", "start": "2024-01-01"}],
    }
    bad.write_bytes(orjson.dumps(good) + b"\n" + orjson.dumps(wrong) + b"\n")
    r = _cli(tmp_path, "registry", "import", str(bad))
    assert (
        r.returncode == 2
        and r.stderr.strip()
        == "error: therapy 'snake-oil' is not in the knowledge pack (list them with `calcinosis therapies`)"
    )
    registry = open_registry(load_settings(data_dir=tmp_path / "data"))
    try:
        assert registry.patient_ids() == []  # the batch was refused whole
    finally:
        registry.close()
