"""The curated front door and the layering rule: every package imports only packages of inner layers.

Imports are read from the source (``import``, ``from … import``) and so are module names written as
strings (``importlib.import_module("calcinosis.web.views")``, ``uvicorn.run("calcinosis.api.app:…")``,
``python -m calcinosis.server.worker``): an import made by name counts like any other.
"""

from __future__ import annotations

import ast
import re
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
# Inner to outer. A package may import packages of lower layers only (never one of its own layer but
# itself, never an outer one). Every module and package of src/calcinosis has a place here.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "datacache"),
    ("settings", "pack", "patient"),
    ("store", "limits", "engine"),
    ("fhir", "render", "validation"),
    ("inputs",),
    ("casework",),  # one input → one recorded assessment
    ("screen", "registry"),  # population screening; the treatment registry
    ("server",),  # the HTTP service's infrastructure (security, engines, cache, app state)
    ("synth", "web"),
    ("smart",),
    ("cdshooks",),
    ("api",),  # the app factory mounts the pages, SMART and CDS Hooks
    ("commands",),
    ("cli",),
    ("__main__",),
)
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}
MODULE_NAME = re.compile(r"^calcinosis(?:\.[A-Za-z_0-9]+)+(?::[A-Za-z_0-9]+)?$")


def unit_of(path: Path) -> str:
    """The package (or top-level module) a source file belongs to; "" for the package's front door."""
    rel = path.relative_to(SRC)
    if len(rel.parts) == 1:
        return "" if rel.stem == "__init__" else rel.stem
    return rel.parts[0]


def _exists(name: str) -> bool:
    parts = name.split(":")[0].split(".")[1:]
    target = SRC.joinpath(*parts)
    return target.with_suffix(".py").exists() or target.is_dir()


def _target(name: str) -> str | None:
    """The package a calcinosis module name belongs to (front-door names resolved to where they live)."""
    parts = name.split(":")[0].split(".")
    if len(parts) < 2:
        return None
    if parts[1] == "__version__":
        return None
    where = getattr(calcinosis, "_WHERE", {}).get(parts[1])
    if len(parts) == 2 and where is not None and not _exists(name):
        return str(where).split(".")[1]
    return parts[1]


def calcinosis_imports(source: str) -> set[str]:
    """Every calcinosis module a source names: imported, or written as a module name in a string (outside
    ``getLogger(...)``, whose names are loggers)."""
    tree = ast.parse(source)
    loggers = {
        id(node.args[0])
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "attr", getattr(node.func, "id", None)) == "getLogger"
        and node.args
    }
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "calcinosis":
            if node.module == "calcinosis":
                out.update(f"calcinosis.{a.name}" for a in node.names)
            else:
                out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "calcinosis")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and MODULE_NAME.match(node.value)
            and id(node) not in loggers
        ):
            out.add(node.value)
    return out


def wrong_way(unit: str, source: str) -> list[str]:
    """The imports of ``unit`` that point outwards (or sideways within a layer)."""
    problems = []
    for name in sorted(calcinosis_imports(source)):
        target = _target(name)
        if target is None or target == unit or target not in LAYER:
            continue
        if unit == "":  # the front door re-exports inner names only
            if LAYER[target] > LAYER["inputs"]:
                problems.append(name)
        elif LAYER[target] >= LAYER[unit]:
            problems.append(name)
    return problems


def test_all_is_sorted_and_complete() -> None:
    names = calcinosis.__all__
    assert names == sorted(names)
    for name in names:
        assert hasattr(calcinosis, name), name


def test_every_package_and_top_level_module_has_a_layer() -> None:
    units = {unit_of(p) for p in SRC.rglob("*.py")} - {""}
    assert units - set(LAYER) == set(), "place new packages in LAYERS"
    assert set(LAYER) - units == set(), "LAYERS names a package that does not exist"


def test_no_package_imports_an_outer_one_directly_or_by_name() -> None:
    problems = []
    for path in sorted(SRC.rglob("*.py")):
        unit = unit_of(path)
        for name in wrong_way(unit, path.read_text()):
            problems.append(f"{path.relative_to(SRC)} ({unit or 'front door'}) imports {name}")
    assert problems == []


def test_an_import_by_name_or_a_lazy_import_is_caught_like_any_other() -> None:
    hidden = (
        "import importlib\n"
        "def router():\n"
        "    return importlib.import_module('calcinosis.api.app').create_app\n"
        "def later():\n"
        "    from calcinosis.cdshooks import services\n"
        "    return services\n"
        "log = __import__('logging').getLogger('calcinosis.api')\n"
    )
    assert wrong_way("web", hidden) == ["calcinosis.api.app", "calcinosis.cdshooks"]
    assert wrong_way("api", hidden) == []  # its own package, and CDS Hooks lies inside the API
    assert wrong_way("pack", "from calcinosis import assess\n") == ["calcinosis.assess"]
    assert wrong_way("web", "from calcinosis import __version__, assess\n") == []


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_pack_patient_and_engine_import_no_outer_library() -> None:
    for inner in ("pack", "patient", "engine"):
        for path in (SRC / inner).rglob("*.py"):
            for mod in imports_of(path):
                assert mod.split(".")[0] not in OUTER, f"{path.name} imports {mod}"
