"""The registry commands as a user runs them: real processes, one-line errors with exit code 2, nothing
half-written; on SQLite and on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import orjson
import pytest

from calcinosis.registry import open_registry
from calcinosis.registry.records import CourseStart, MeasurementIn, VisitIn
from calcinosis.settings import Settings
from tests.conftest import CASES
from tests.registry.conftest import BY, days_ago
from tests.servicekit.server import clean_environ


class Cli:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.env = {**clean_environ(), "CALCINOSIS_DATA_DIR": str(settings.data_dir)}
        if settings.database_url:
            self.env["CALCINOSIS_DATABASE_URL"] = settings.database_url

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "calcinosis", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
            check=False,
        )

    def ok(self, *args: str) -> str:
        r = self(*args)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def refused(self, *args: str, match: str) -> str:
        r = self(*args)
        assert r.returncode == 2, (r.stdout, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in r.stderr, r.stderr
        assert match in lines[0], lines[0]
        return lines[0]

    def counts(self) -> tuple[int, int, int]:
        registry = open_registry(self.settings)
        try:
            pids = registry.patient_ids()
            return (
                len(pids),
                sum(len(registry.courses(p)) for p in pids),
                sum(len(registry.measurements(p)) for p in pids),
            )
        finally:
            registry.close()


@pytest.fixture
def cli(settings: Settings) -> Cli:
    return Cli(settings)


def test_a_course_with_visits_is_recorded_shown_and_ranked_down_when_it_failed(cli: Cli) -> None:
    start, mid, stop = days_ago(420).isoformat(), days_ago(30).isoformat(), days_ago(20).isoformat()
    out = cli.ok(
        "course", "start", "pt-1", "--therapy", "diltiazem", "--start", start, "--subtype", "dystrophic",
        "--agent", "diltiazem", "--dose", "240 mg/day",
    )  # fmt: skip
    assert out.startswith("started course 1: diltiazem for pt-1 (dystrophic)")
    cli.ok("visit", "add", "pt-1", "--date", start, "--site", "right hand", "--count", "4", "--vas", "7")
    cli.ok(
        "visit",
        "add",
        "pt-1",
        "--date",
        mid,
        "--course",
        "1",
        "--site",
        "right hand",
        "--count",
        "4",
        "--vas",
        "7",
    )
    cli.ok("course", "stop", "1", "--stop", stop, "--reason", "ineffective")
    cli.ok("patient", "facts", "pt-1", str(CASES / "lcssc-circumscripta-fingertips.json"))

    shown = orjson.loads(cli.ok("patient", "show", "pt-1", "--format", "json"))
    [course] = shown["courses"]
    assert course["course"]["stop_reason"] == "ineffective"
    assert course["response"]["category"] == "none" and course["response"]["adequate"] is True
    assert shown["history"]["courses"][0]["course_id"] == "course-1"
    [option] = shown["options"]
    assert option["id"] == "diltiazem" and option["stance"] == "consider"
    assert any(line.startswith("Ranked down") for line in option["rationale"])
    text = cli.ok("patient", "show", "pt-1")
    assert "response: none" in text and "Ranked down" in text and "#2" in text


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (
            ("visit", "add", "pt-1", "--date", "{before}", "--course", "1", "--count", "2"),
            "before course 1 started",
        ),
        (("visit", "add", "pt-1", "--date", "{today}", "--site", "hand", "--largest-mm", "-3"), "largest_mm"),
        (("visit", "add", "pt-1", "--date", "{today}", "--vas", "14"), "pain_vas"),
        (("course", "start", "pt-1", "--therapy", "snake-oil", "--start", "{today}"), "snake-oil"),
        (("visit", "add", "pt-1", "--date", "{start}", "--site", "Hand", "--count", "9"), "already recorded"),
        (("visit", "add", "pt-1", "--date", "not-a-date", "--count", "1"), "visit.date"),
        (("course", "stop", "1", "--stop", "{today}", "--reason", "bored"), "stop.reason"),
        (("course", "stop", "99", "--stop", "{today}", "--reason", "other"), "no treatment course 99"),
        (("visit", "add", "bad id!", "--date", "{today}", "--count", "1"), "pseudonymous id"),
        (("visit", "correct", "1", "--set", "pain_vas=14", "--reason", "typo fix"), "pain_vas"),
        (("visit", "delete", "1", "--reason", "x"), "deletion.reason"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written_when_refused(
    cli: Cli, args: tuple[str, ...], match: str
) -> None:
    start = days_ago(100).isoformat()
    registry = open_registry(cli.settings)
    try:
        registry.start_course("pt-1", CourseStart(therapy="colchicine", start=days_ago(100)), BY)
        registry.add_visit(
            "pt-1", VisitIn(date=days_ago(100), measurements=(MeasurementIn(site="hand", count=3),)), BY
        )
    finally:
        registry.close()
    before = cli.counts()
    values = {"before": days_ago(101).isoformat(), "today": days_ago(0).isoformat(), "start": start}
    cli.refused(*(a.format(**values) for a in args), match=match)
    assert cli.counts() == before


def test_corrections_and_deletions_are_listed_with_the_old_values_when_asked(cli: Cli) -> None:
    day = days_ago(10).isoformat()
    cli.ok("visit", "add", "pt-1", "--date", day, "--site", "hand", "--vas", "8")
    cli.ok("visit", "correct", "1", "--set", "pain_vas=3", "--reason", "typed 8 for 3", "--by", "dr-a")
    cli.ok("visit", "delete", "1", "--reason", "wrong patient", "--by", "dr-b")
    history = cli.ok("patient", "history", "pt-1")
    assert 'dr-a: update measurement 1 (typed 8 for 3); was {"pain_vas":8.0}' in history
    assert "dr-b: delete measurement 1 (wrong patient)" in history and "2 revision(s)" in history
    rows = orjson.loads(cli.ok("patient", "history", "pt-1", "--format", "json"))
    assert rows[1]["before"]["pain_vas"] == 3.0 and rows[1]["after"] is None
    assert "[deleted]" in cli.ok("visit", "list", "pt-1", "--deleted")


def test_export_is_de_identified_and_duckdb_reads_it_when_written(cli: Cli, tmp_path: Path) -> None:
    start = days_ago(200).isoformat()
    cli.ok("course", "start", "pt-1", "--therapy", "colchicine", "--start", start, "--note", "SECRET-NOTE")
    cli.ok(
        "visit", "add", "pt-1", "--date", start, "--site", "hand", "--count", "3", "--note", "SECRET-VISIT"
    )
    cli.ok("course", "event", "1", "--date", start, "--description", "SECRET-EVENT", "--severity", "mild")
    cli.ok("patient", "facts", "pt-1", str(CASES / "lcssc-circumscripta-fingertips.json"))
    out = tmp_path / "export"
    assert "1 patients, 1 courses, 1 measurements, 1 adverse_events" in cli.ok(
        "registry", "export", "--parquet", str(out)
    )
    blob = b"".join(p.read_bytes() for p in out.glob("*.parquet"))
    for secret in (b"SECRET", b"Limited cutaneous", b"cli:", b"fingertips"):
        assert secret not in blob
    with duckdb.connect() as con:
        row = con.execute(
            f"SELECT c.therapy, c.response, m.count, e.severity FROM '{out}/courses.parquet' c "  # noqa: S608
            f"JOIN '{out}/measurements.parquet' m USING (patient_id) "
            f"JOIN '{out}/adverse_events.parquet' e ON e.course_id = c.course_id"
        ).fetchall()
    assert row == [("colchicine", "not-judged", 3, "mild")]


def test_evidence_and_migrate_report_when_asked(cli: Cli) -> None:
    assert "registry schema at 0001" in cli.ok("registry", "migrate")
    assert "newest 0001" in cli.ok("registry", "migrate", "--check")
    cli.ok(
        "course",
        "start",
        "pt-1",
        "--therapy",
        "colchicine",
        "--start",
        days_ago(50).isoformat(),
        "--subtype",
        "dystrophic",
    )
    text = cli.ok("registry", "evidence", "colchicine")
    assert "dystrophic: this clinic: 1 course in 1 patient (1 running)" in text and "too few to judge" in text
    assert "not part of the A–E level" in text
    assert cli("registry", "evidence", "snake-oil").returncode == 2
