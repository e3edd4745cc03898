"""A screened patient's assessment is exactly what `calcinosis assess` gives for that patient's Bundle."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import orjson
from typer.testing import CliRunner

from calcinosis.cli import app
from calcinosis.screen import ScreenOptions, ScreenResult, run_screen
from tests.screen.conftest import AS_OF, BULK, assessments, bundles_by_patient

EXPECTED = json.loads((BULK / "mixed-clinic" / "expected.json").read_text())


def test_every_screened_patient_matches_calcinosis_assess_patient_by_patient(
    small_export: Path, small_screen: ScreenResult, tmp_path: Path
) -> None:
    bundles = bundles_by_patient(small_export)
    screened = assessments(small_screen.out_dir)
    assert len(screened) >= 30
    runner = CliRunner()
    for pid, assessment in sorted(screened.items()):
        path = tmp_path / f"{pid}.json"
        path.write_bytes(bundles[pid])
        r = runner.invoke(app, ["assess", str(path), "--format", "json", "--as-of", AS_OF.isoformat()])
        assert r.exit_code == 0, (pid, r.output)
        assert orjson.loads(r.stdout) == assessment, pid


def test_golden_patients_match_the_assess_command_run_as_a_process(
    mixed_clinic: Path, tmp_path: Path
) -> None:
    as_of = dt.date.fromisoformat(EXPECTED["as_of"])
    run_screen(ScreenOptions(mixed_clinic, tmp_path / "out", as_of=as_of, progress=False))
    screened = assessments(tmp_path / "out")
    bundles = bundles_by_patient(mixed_clinic)
    for pid in ("calciphylaxis-hd", "ssc-fingertips"):
        path = tmp_path / f"{pid}.json"
        path.write_bytes(bundles[pid])
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "calcinosis",
                "assess",
                str(path),
                "--format",
                "json",
                "--as-of",
                EXPECTED["as_of"],
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout) == screened[pid], pid
