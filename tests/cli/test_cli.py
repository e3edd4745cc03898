"""The CLI as a user runs it: real process, real exit codes, one-line errors, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CASES


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "calcinosis", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_assess_json_follows_the_contract() -> None:
    r = cli("assess", str(CASES / "calciphylaxis-dialysis-warfarin.json"), "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert set(data) >= {
        "subtype",
        "workup",
        "therapies",
        "alerts",
        "knowledge",
        "facts_used",
        "input_issues",
    }
    assert data["subtype"]["code"] == "calciphylaxis"
    assert {"id", "name", "stance", "line", "evidence_level", "rationale", "cautions", "basis"} <= set(
        data["therapies"][0]
    )
    assert data["alerts"][0]["severity"] == "critical"


def test_assess_text_shows_subtype_workup_therapies_and_sources() -> None:
    r = cli("assess", str(CASES / "lcssc-circumscripta-fingertips.json"))
    assert r.returncode == 0, r.stderr
    for needle in ("Subtype", "Work-up", "Therapy options", "Diltiazem", "Nalluri"):
        assert needle in r.stdout


def test_assess_markdown_reads_stdin() -> None:
    text = (CASES / "idiopathic-scrotal-nodules.json").read_text()
    r = cli("assess", "-", "--format", "markdown", stdin=text)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("# Calcinosis cutis assessment")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{not json", "not valid JSON"),
        ('{"age_years": "old"}', "age_years"),
        ('{"age_years": 500}', "age_years"),
        ("[1, 2]", "expected a JSON object"),
        ('{"labs": [{"value": "high"}]}', "labs.0.value"),
    ],
)
def test_bad_input_gives_one_line_and_exit_2_when(tmp_path: Path, content: str, needle: str) -> None:
    f = tmp_path / "case.json"
    f.write_text(content)
    r = cli("assess", str(f))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and needle in r.stderr


def test_missing_file_is_exit_2() -> None:
    r = cli("assess", "/nonexistent/case.json")
    assert r.returncode == 2 and "not found" in r.stderr and "Traceback" not in r.stderr


def test_therapies_ladder_and_single_therapy() -> None:
    r = cli("therapies", "--format", "json")
    assert r.returncode == 0
    ladder = json.loads(r.stdout)
    assert len(ladder) >= 25
    r = cli("therapies", "--subtype", "calciphylaxis", "--format", "json")
    assert r.returncode == 0 and {t["id"] for t in json.loads(r.stdout)} >= {"sodium-thiosulfate-intravenous"}
    r = cli("therapy", "diltiazem")
    assert r.returncode == 0 and "Palmieri" in r.stdout
    r = cli("therapy", "unicorn-tears")
    assert r.returncode == 2 and "not found" in r.stderr


def test_pack_check_show_and_version() -> None:
    r = cli("pack", "check")
    assert r.returncode == 0 and "pack ok" in r.stdout
    r = cli("pack", "show", "--format", "json")
    assert r.returncode == 0 and "therapies" in json.loads(r.stdout)
    r = cli("--version")
    assert r.returncode == 0 and "hash" in r.stdout


def test_unknown_subtype_option_is_exit_2() -> None:
    r = cli("therapies", "--subtype", "martian")
    assert r.returncode == 2 and "Traceback" not in r.stderr
