"""The curated front door and the layering rule (inner packages import nothing outer)."""

from __future__ import annotations

import ast
from pathlib import Path

import calcinosis

SRC = Path(calcinosis.__file__).parent
OUTER = {
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "duckdb",
    "pyspark",
    "psycopg",
    "sqlite3",
    "jinja2",
    "typer",
    "rich",
    "sqlalchemy",
    "alembic",
}
OUTER_PACKAGES = {
    "fhir",
    "cdshooks",
    "api",
    "web",
    "screen",
    "store",
    "commands",
    "cli",
    "render",
    "inputs",
    "synth",
    "smart",
    "registry",
}


def test_all_is_sorted_and_complete() -> None:
    names = calcinosis.__all__
    assert names == sorted(names)
    for name in names:
        assert hasattr(calcinosis, name), name


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_pack_patient_and_engine_import_nothing_outer() -> None:
    for inner in ("pack", "patient", "engine"):
        for path in (SRC / inner).rglob("*.py"):
            for mod in imports_of(path):
                top = mod.split(".")[0]
                assert top not in OUTER, f"{path.name} imports {mod}"
                if mod.startswith("calcinosis."):
                    assert mod.split(".")[1] not in OUTER_PACKAGES, f"{path.name} imports {mod}"


def test_pack_and_patient_do_not_import_engine() -> None:
    for inner in ("pack", "patient"):
        for path in (SRC / inner).rglob("*.py"):
            assert not any(m.startswith("calcinosis.engine") for m in imports_of(path)), path.name
