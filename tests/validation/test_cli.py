"""`calcinosis validate` as a user runs it: real process, real corpus, both formats, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from calcinosis.validation import FIELDS
from tests.validation.corpus_helpers import PUBLISHED, entry, write


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "calcinosis", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _json_report() -> dict[str, Any]:
    r = cli("validate", str(PUBLISHED), "--format", "json")
    assert r.returncode == 0, r.stderr
    data: dict[str, Any] = json.loads(r.stdout)
    return data


def test_json_gives_figures_per_field_and_per_case_for_the_real_corpus() -> None:
    data = _json_report()
    files = sorted(p.stem for p in PUBLISHED.glob("*.yaml"))
    assert data["cases"] == len(files)
    assert sorted(r["id"] for r in data["results"]) == files
    assert [f["field"] for f in data["fields"]] == list(FIELDS)
    for f in data["fields"]:
        rows = [x for r in data["results"] for x in r["fields"] if x["field"] == f["field"] and x["judged"]]
        assert f["judged"] == len(rows)
        assert f["agreed"] == sum(1 for x in rows if x["agreed"])
        assert f["items_judged"] == sum(x["items_judged"] for x in rows)
        if f["judged"]:
            assert f["percent"] == round(100.0 * f["agreed"] / f["judged"], 1)
    subtype = next(f for f in data["fields"] if f["field"] == "subtype")
    assert subtype["judged"] == data["cases"]
    for r in data["results"]:
        for x in r["fields"]:
            assert bool(x["reasons"]) == (x["judged"] and not x["agreed"]), (r["id"], x["field"])


def test_text_prints_the_same_figures_as_json() -> None:
    data = _json_report()
    r = cli("validate", str(PUBLISHED))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "Agreement per field" in out and "Agreement per case" in out
    lines = out.splitlines()
    for f in data["fields"]:
        row = next(line for line in lines if line.strip("│┃ ").startswith(f["field"] + " "))
        assert f"{f['agreed']}/{f['judged']}" in row
        if f["percent"] is not None:
            assert f"{f['percent']:.1f}%" in row
    for res in data["results"]:
        assert res["id"][:40] in out


def test_one_case_only(tmp_path: Path) -> None:
    some = sorted(PUBLISHED.glob("*.yaml"))[0].stem
    r = cli("validate", str(PUBLISHED), "--case", some, "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["cases"] == 1 and data["results"][0]["id"] == some


def test_unknown_case_id_is_one_line_exit_2() -> None:
    r = cli("validate", str(PUBLISHED), "--case", "no-such-case")
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: --case: no case 'no-such-case' in {PUBLISHED}"
    assert r.stdout == ""


def test_missing_directory_is_one_line_exit_2(tmp_path: Path) -> None:
    r = cli("validate", str(tmp_path / "missing"))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "corpus directory not found" in r.stderr
    assert "Traceback" not in r.stderr


def test_bad_corpus_file_is_one_line_exit_2(tmp_path: Path) -> None:
    write(tmp_path, entry("bad", must_include=["no-such-therapy"]))
    r = cli("validate", str(tmp_path), "--format", "json")
    assert r.returncode == 2
    assert r.stderr == "error: bad.yaml: expectation.must_include: unknown therapy id 'no-such-therapy'\n"
    assert r.stdout == ""


def test_bad_yaml_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("id: broken\nexpectation: {subtype: [\n")
    r = cli("validate", str(tmp_path))
    assert r.returncode == 2
    assert r.stderr.startswith("error: broken.yaml: not valid YAML") and r.stderr.count("\n") == 1


def test_disagreement_is_reported_not_enforced(tmp_path: Path) -> None:
    write(tmp_path, entry("wrong-on-purpose", subtype="iatrogenic", must_include=["acetazolamide"]))
    r = cli("validate", str(tmp_path), "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    subtype = next(f for f in data["fields"] if f["field"] == "subtype")
    assert (subtype["judged"], subtype["agreed"]) == (1, 0)
