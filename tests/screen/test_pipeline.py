"""Whole screens with the default engine: golden export, outputs, quarantine, exit codes, .gz, workers."""

from __future__ import annotations

import datetime as dt
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import duckdb
import orjson
import pytest

from calcinosis.errors import EXIT_OK, EXIT_QUARANTINED, InputError
from calcinosis.screen import ScreenOptions, ScreenResult, run_screen
from calcinosis.screen.backends import get_backend
from calcinosis.screen.outputs import PARQUET_COLUMNS
from tests.screen.conftest import AS_OF, BULK, assessments

EXPECTED = json.loads((BULK / "mixed-clinic" / "expected.json").read_text())
GOLDEN_AS_OF = dt.date.fromisoformat(EXPECTED["as_of"])


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "calcinosis", *args], capture_output=True, text=True, timeout=300, check=False
    )


def test_golden_export_gives_the_expected_screen_when_screened(mixed_clinic: Path, tmp_path: Path) -> None:
    result = run_screen(ScreenOptions(mixed_clinic, tmp_path / "out", as_of=GOLDEN_AS_OF, progress=False))
    assert result.counts.patients_in_export == EXPECTED["patients_in_export"]
    assert result.counts.resources_by_type == EXPECTED["resources_by_type"]
    assert result.counts.patients_selected == len(EXPECTED["selected"])
    assert result.quarantined == EXPECTED["quarantine"]
    assert sorted(p.name for p in (tmp_path / "out" / "quarantine").iterdir()) == EXPECTED["quarantine_files"]
    assert [Path(p).name for p in result.figures.files_not_read] == EXPECTED["not_read"]
    found = assessments(tmp_path / "out")
    assert sorted(found) == EXPECTED["assessed"]
    for pid, code in EXPECTED["subtypes"].items():
        assert found[pid]["subtype"]["code"] == code, pid  # type: ignore[index]
    critical = sorted(
        pid
        for pid, a in found.items()
        if any(al["severity"] == "critical" for al in a["alerts"])  # type: ignore[attr-defined]
    )
    assert critical == EXPECTED["critical_alert_patients"]
    assert result.exit_code == EXIT_QUARANTINED


def test_each_bad_line_is_kept_with_its_reason_when_set_aside(mixed_clinic: Path, tmp_path: Path) -> None:
    run_screen(ScreenOptions(mixed_clinic, tmp_path / "out", as_of=GOLDEN_AS_OF, progress=False))
    quarantine = tmp_path / "out" / "quarantine"
    records = [
        orjson.loads(line) for f in sorted(quarantine.iterdir()) for line in f.read_bytes().splitlines()
    ]
    by_reason = {r["reason"]: r for r in records}
    assert by_reason["not-json"]["line"].startswith('{"resourceType":"Observation","id":"o9"')
    assert (
        by_reason["unknown-resource-type"]["detail"] == "resourceType 'Encounter' is not one the screen reads"
    )
    assert {r["detail"] for r in records if r["reason"] == "missing-subject"} == {
        "Patient resource without an id",
        "subject does not reference a Patient (Patient/<id>)",
    }
    ghost = by_reason["patient-not-assessable"]
    assert ghost["detail"].startswith("Patient/ghost: ")
    assert orjson.loads(ghost["line"])["resourceType"] == "Bundle"


def test_cli_exits_1_and_names_the_quarantine_when_lines_were_set_aside(
    mixed_clinic: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    r = cli("screen", str(mixed_clinic), "--out", str(out), "--as-of", EXPECTED["as_of"])
    assert r.returncode == EXIT_QUARANTINED, r.stderr
    assert "screened 4 of 5 patients" in r.stdout
    assert "set aside:" in r.stderr and "quarantine" in r.stderr
    assert "Traceback" not in r.stderr


def test_cli_exits_0_when_nothing_was_set_aside(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (export / "Patient.ndjson").write_text('{"resourceType":"Patient","id":"a","gender":"female"}\n')
    (export / "Condition.ndjson").write_text(
        '{"resourceType":"Condition","id":"c","code":{"text":"Calcinosis cutis"},'
        '"subject":{"reference":"Patient/a"}}\n'
    )
    for rtype in (
        "Observation",
        "MedicationRequest",
        "MedicationStatement",
        "MedicationAdministration",
        "Procedure",
    ):
        (export / f"{rtype}.ndjson").write_text("")
    r = cli("screen", str(export), "--out", str(tmp_path / "out"))
    assert r.returncode == EXIT_OK, r.stderr
    assert "screened 1 of 1 patients" in r.stdout
    assert r.stderr == ""  # no progress bar or spinner when stderr is not a terminal
    assert not (tmp_path / "out" / "quarantine").exists()


def test_cli_exits_2_with_one_line_when_the_export_is_unusable(tmp_path: Path) -> None:
    r = cli("screen", str(tmp_path / "absent"), "--out", str(tmp_path / "out"))
    assert r.returncode == 2
    assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1
    r = cli("screen", str(tmp_path), "--out", str(tmp_path / "out"), "--engine", "hadoop")
    assert r.returncode == 2
    assert "unknown engine 'hadoop'" in r.stderr


def test_unknown_engine_is_an_input_error_when_asked_for() -> None:
    with pytest.raises(InputError, match="unknown engine"):
        get_backend("pandas")
    assert get_backend("duckdb").name == "duckdb"


def test_unrelated_patients_are_not_assessed_when_they_carry_no_screening_code(
    small_export: Path, small_screen: ScreenResult
) -> None:
    truth = dict(
        line.split("\t")[:2] for line in (small_export / "scenarios.tsv").read_text().splitlines()[1:]
    )
    screened = set(assessments(small_screen.out_dir))
    assert screened
    assert not {pid for pid in screened if truth[pid] == "unrelated"}
    related = {pid for pid, s in truth.items() if s != "unrelated"}
    # Every related patient is picked (a few may be set aside by the reader, never silently dropped).
    assert small_screen.counts.patients_selected >= len(related)
    assert len(screened) + small_screen.not_assessable == small_screen.counts.patients_selected


def test_at_risk_patients_without_calcinosis_get_no_definite_subtype(
    small_export: Path, small_screen: ScreenResult
) -> None:
    truth = dict(
        line.split("\t")[:2] for line in (small_export / "scenarios.tsv").read_text().splitlines()[1:]
    )
    found = assessments(small_screen.out_dir)
    at_risk = {pid: a for pid, a in found.items() if truth[pid] in ("ckd-only", "ctd-only")}
    assert at_risk, "the population holds calcinosis-free at-risk patients"
    for pid, a in at_risk.items():
        assert a["calcinosis"]["recorded"] is False, pid  # type: ignore[index]
        assert a["subtype"]["code"] == "undetermined", pid  # type: ignore[index]
        assert a["therapies"] == [], pid
        assert a["risk_profile"], pid
    # Calcinosis is recorded only for patients drawn with it (some of theirs are resolved or refuted: not recorded).
    recorded = {pid for pid, a in found.items() if a["calcinosis"]["recorded"]}  # type: ignore[index]
    assert recorded
    assert not {pid for pid in recorded if truth[pid] in ("ckd-only", "ctd-only", "unrelated")}
    html = small_screen.files["report"].read_text()
    assert "At risk, no calcinosis recorded" in html
    no_calcinosis = sum(1 for a in found.values() if not a["calcinosis"]["recorded"])  # type: ignore[index]
    assert (
        f'<th>At risk, no calcinosis recorded (no subtype called)</th><td class="n">{no_calcinosis:,}</td>'
        in html
    )


def test_parquet_table_has_one_row_per_assessment_when_written(small_screen: ScreenResult) -> None:
    path = small_screen.files["parquet"]
    with duckdb.connect() as con:
        table = con.read_parquet(str(path))
        columns = table.columns
        rows = table.select("patient_id, subtype, alerts").fetchall()
    assert columns == list(PARQUET_COLUMNS)
    found = assessments(small_screen.out_dir)
    assert sorted(r[0] for r in rows) == sorted(found)
    for pid, subtype, alerts in rows:
        assert subtype == found[pid]["subtype"]["code"]  # type: ignore[index]
        assert alerts == [a["id"] for a in found[pid]["alerts"]]  # type: ignore[attr-defined]


def test_report_is_self_contained_with_counts_and_charts_when_written(small_screen: ScreenResult) -> None:
    html = small_screen.files["report"].read_text()
    for heading in (
        "Subtype called",
        "Missing work-up",
        "Safety alerts",
        "Set aside, by reason",
        "Peak memory",
    ):
        assert heading in html
    assert html.count("<svg") >= 6
    assert f"{small_screen.counts.patients_in_export:,}" in html
    assert "<script" not in html and "src=" not in html and "<link" not in html
    assert "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_gz_export_gives_identical_results_when_compressed(
    small_export_gz: Path, small_screen: ScreenResult, tmp_path: Path
) -> None:
    result = run_screen(
        ScreenOptions(small_export_gz, tmp_path / "gz", as_of=AS_OF, workers=1, progress=False)
    )
    assert (tmp_path / "gz" / "assessments.ndjson").read_bytes() == small_screen.files[
        "assessments"
    ].read_bytes()
    assert result.quarantined == small_screen.quarantined
    assert result.counts.resources_by_type == small_screen.counts.resources_by_type


def test_results_do_not_depend_on_the_number_of_workers_when_pooled(
    small_export: Path, small_screen: ScreenResult, tmp_path: Path
) -> None:
    result = run_screen(ScreenOptions(small_export, tmp_path / "w2", as_of=AS_OF, workers=2, progress=False))
    assert result.figures.workers == 2
    assert (tmp_path / "w2" / "assessments.ndjson").read_bytes() == small_screen.files[
        "assessments"
    ].read_bytes()


def test_a_duplicated_line_reaches_the_reader_twice_when_exported_twice(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    patient = '{"resourceType":"Patient","id":"twice","gender":"male"}\n'
    (export / "Patient.ndjson").write_text(patient + patient)
    condition = '{"resourceType":"Condition","id":"c","code":{"text":"CKD"},"subject":{"reference":"Patient/twice"}}\n'
    (export / "Condition.ndjson").write_text(condition + condition)
    allowed = frozenset(
        {"Observation", "MedicationRequest", "MedicationStatement", "MedicationAdministration", "Procedure"}
    )
    result = run_screen(ScreenOptions(export, tmp_path / "out", progress=False, allow_missing=allowed))
    assert result.counts.resources_by_type == {"Condition": 2, "Patient": 2}
    assert result.not_assessable == 1
    record = orjson.loads((tmp_path / "out" / "quarantine" / "patients.ndjson").read_bytes())
    assert "more than one Patient" in record["detail"]
    assert len(orjson.loads(record["line"])["entry"]) == 4


def test_progress_is_drawn_when_stderr_is_a_terminal(mixed_clinic: Path, tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    cmd = [sys.executable, "-m", "calcinosis", "screen", str(mixed_clinic), "--out", str(tmp_path / "out")]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=follower, env={**os.environ, "COLUMNS": "100"}
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=120)
    os.close(leader)
    drawn = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == EXIT_QUARANTINED
    assert "assessing" in drawn


def test_cli_sets_an_unreadable_file_aside_instead_of_stopping(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (export / "Patient.ndjson.gz").write_bytes(b"this is not gzip data at all\n")
    (export / "Condition.ndjson").write_text(
        '{"resourceType":"Condition","id":"c","code":{"text":"Calcinosis cutis"},'
        '"subject":{"reference":"Patient/a"}}\n'
    )
    others = [
        a
        for t in (
            "Observation",
            "MedicationRequest",
            "MedicationStatement",
            "MedicationAdministration",
            "Procedure",
        )
        for a in ("--allow-missing", t)
    ]
    r = cli("screen", str(export), "--out", str(tmp_path / "out"), *others)
    assert r.returncode == EXIT_QUARANTINED, r.stderr
    assert "1 unreadable-file" in r.stderr and "1 patient-not-assessable" in r.stderr
    assert "Traceback" not in r.stderr
    record = orjson.loads((tmp_path / "out" / "quarantine" / "files.ndjson").read_bytes())
    assert record["file"] == "Patient.ndjson.gz" and "not a gzip file" in record["detail"]
