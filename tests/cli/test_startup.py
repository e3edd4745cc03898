"""A command imports what it needs and nothing more: the CLI starts without the web stack, the database
drivers, the terminal renderer or the engine, and `assess --format json` runs without the web stack.

(What this buys in time is measured by benchmarks/cli.py, not here.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from calcinosis.limits import Limits
from calcinosis.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
CASE = ROOT / "examples" / "cases" / "ckd-metastatic-high-phosphate.json"
WEB_AND_DATA = ("fastapi", "starlette", "uvicorn", "httpx", "jinja2", "duckdb", "psycopg", "sqlite3", "jwt")


def modules_after(code: str) -> set[str]:
    script = "import atexit, sys\natexit.register(lambda: sys.stderr.write('\\n' + ' '.join(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", script + code], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return set(done.stderr.strip().rsplit("\n", 1)[-1].split())


def test_starting_the_cli_imports_typer_and_the_command_modules_only() -> None:
    loaded = modules_after("import calcinosis.cli")
    assert "calcinosis.commands.assess" in loaded
    heavy = {m for m in loaded if m.split(".")[0] in (*WEB_AND_DATA, "rich", "pydantic", "yaml", "orjson")}
    assert heavy == set()
    assert not {m for m in loaded if m.startswith(("calcinosis.engine", "calcinosis.pack", "calcinosis.api"))}


def test_assess_as_json_runs_without_the_web_stack_the_renderer_or_the_settings() -> None:
    argv = ["calcinosis", "assess", str(CASE), "--format", "json"]
    loaded = modules_after(
        f"import sys\nsys.argv = {argv!r}\nfrom calcinosis.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
    )
    assert "calcinosis.engine" in loaded
    assert {m for m in loaded if m.split(".")[0] in (*WEB_AND_DATA, "rich", "pydantic_settings")} == set()
    assert not {m for m in loaded if m.startswith(("calcinosis.api", "calcinosis.web", "calcinosis.screen"))}


def test_the_limits_without_settings_in_the_environment_are_the_settings_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key in list(os.environ):
        if key.startswith("CALCINOSIS_"):
            monkeypatch.delenv(key)
    assert Limits.from_env() == Limits() == Limits.of(load_settings())
    monkeypatch.setenv("CALCINOSIS_MAX_BODY_BYTES", "4096")
    assert Limits.from_env().body_bytes == 4096
