"""Every output of every example input, as the golden files pin it.

For each example case (``examples/cases/*.json``) and FHIR example (``examples/fhir/*.json``):

- ``assessment.json``, ``assessment.md``, ``assessment.txt``, ``guidance.json``: ``calcinosis assess FILE
  --format json|markdown|text|fhir --as-of AS_OF`` through the real CLI (text: rich at its fixed width of
  140 columns, no terminal, so no colour);
- ``result.html``: the result page of ``POST /assess/upload`` (the web upload) through the real app;
- ``cards.json`` (FHIR examples): ``POST /cds-services/calcinosis-patient-view`` through the real app with
  the example's resources as a fixed prefetch (each key filled as an EHR answering its query would), on the
  day ``AS_OF``.

Volatile values are normalised (:func:`normalise`): uuids become ``<uuid-N>`` numbered by first appearance
(so references between resources stay visible), the pack's content hash ``<pack-hash>``, other SHA-256 hex
digests ``<sha256>`` and the page's generation time ``<generated>``. JSON is written with sorted keys.

``make golden`` (``scripts/golden.py``) writes these files; ``tests/golden/test_golden.py`` compares.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import orjson

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent
EXAMPLES = {"cases": ROOT / "examples" / "cases", "fhir": ROOT / "examples" / "fhir"}
AS_OF = dt.date(2026, 12, 1)
CLI_FORMATS = {
    "assessment.json": "json",
    "assessment.md": "markdown",
    "assessment.txt": "text",
    "guidance.json": "fhir",
}
PATIENT_VIEW = "/cds-services/calcinosis-patient-view"
HOOK_INSTANCE = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"
# Environment that could change what the CLI prints (colour, width) or how the app is configured.
QUIET_ENV = {"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "140", "LINES": "50"}
LOUD_ENV = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "CLICOLOR_FORCE", "JUPYTER_COLUMNS")

UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
SHA256 = re.compile(r"\b[0-9a-f]{64}\b")
GENERATED = re.compile(r"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\b")


@dataclass(frozen=True)
class Example:
    kind: str  # "cases" or "fhir"
    path: Path

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"


def examples() -> list[Example]:
    return [Example(kind, p) for kind, folder in EXAMPLES.items() for p in sorted(folder.glob("*.json"))]


def golden_dir(example: Example) -> Path:
    return GOLDEN / example.kind / example.name


# ------------------------------------------------------------------------------------------ normalising
def normalise(text: str, pack_hash: str) -> str:
    text = text.replace(pack_hash, "<pack-hash>").replace(pack_hash[:12], "<pack-hash-short>")
    seen: dict[str, str] = {}

    def number(m: re.Match[str]) -> str:
        return seen.setdefault(m.group(0).lower(), f"<uuid-{len(seen) + 1}>")

    text = UUID.sub(number, text)
    text = SHA256.sub("<sha256>", text)
    return GENERATED.sub("<generated>", text)


def json_text(data: Any) -> str:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"


# ------------------------------------------------------------------------------------------ the prefetch
def prefetch_of(bundle: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The patient id and the prefetch an EHR would send for this Bundle's patient: each key holds the
    resources its query returns (``Observation?category=exam`` findings apart from the other
    observations; referenced Medication resources with the requests, as ``_include`` gives them).
    References by ``fullUrl`` (``urn:uuid:``) are rewritten to ``Type/id``, as a FHIR server holds them."""
    entries = [e for e in bundle.get("entry", []) if isinstance(e.get("resource"), dict)]
    local: dict[str, str] = {}
    resources: list[dict[str, Any]] = []
    for e in entries:
        r = dict(e["resource"])
        full = e.get("fullUrl")
        if "id" not in r and isinstance(full, str):
            r["id"] = full.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
        if isinstance(full, str):
            local[full] = f"{r['resourceType']}/{r['id']}"
        resources.append(r)
    resources = [orjson.loads(_rewrite(orjson.dumps(r).decode(), local)) for r in resources]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for r in resources:
        by_type.setdefault(r["resourceType"], []).append(r)
    observations = by_type.get("Observation", [])
    findings = [o for o in observations if _category(o) == {"exam"}]
    labs = [o for o in observations if o not in findings]
    patient = by_type["Patient"][0]

    def searchset(items: list[dict[str, Any]]) -> dict[str, Any]:
        return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in items]}

    return patient["id"], {
        "patient": patient,
        "conditions": searchset(by_type.get("Condition", [])),
        "labs": searchset(labs),
        "medications": searchset(by_type.get("MedicationRequest", []) + by_type.get("Medication", [])),
        "findings": searchset(findings),
        "procedures": searchset(by_type.get("Procedure", [])),
        "administrations": searchset(by_type.get("MedicationAdministration", [])),
        "allergies": searchset(by_type.get("AllergyIntolerance", [])),
    }


def _rewrite(text: str, local: dict[str, str]) -> str:
    for full, ref in local.items():
        text = text.replace(f'"reference":"{full}"', f'"reference":"{ref}"')
    return text


def _category(resource: dict[str, Any]) -> set[str]:
    return {
        c.get("code", "")
        for cat in resource.get("category", [])
        for c in (cat.get("coding") or [])
        if isinstance(c, dict)
    }


# ------------------------------------------------------------------------------------------ producing
@contextlib.contextmanager
def pinned() -> Iterator[None]:
    """No CALCINOSIS_ setting or colour switch from the caller's environment; the CDS day pinned."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALCINOSIS_") and k not in LOUD_ENV}
    env.update(QUIET_ENV)
    with (
        mock.patch.dict(os.environ, env, clear=True),
        mock.patch("calcinosis.cdshooks.services.utc_today", return_value=AS_OF),
    ):
        yield


class Producer:
    """The CLI and one app (SQLite store in a temporary folder, loopback caller) producing outputs."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Producer:
        from fastapi.testclient import TestClient
        from typer.testing import CliRunner

        from calcinosis.api import create_app
        from calcinosis.cli import app as cli_app
        from calcinosis.pack import load_pack_cached
        from calcinosis.settings import load_settings

        self._stack.enter_context(pinned())
        tmp = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="golden-")))
        self.pack_hash = load_pack_cached().content_hash
        self.cli = CliRunner()
        self.cli_app = cli_app
        app = create_app(load_settings(data_dir=tmp))
        self.client = self._stack.enter_context(TestClient(app, client=("127.0.0.1", 50000)))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def outputs(self, example: Example) -> dict[str, str]:
        """File name -> normalised text, every output of one example."""
        out: dict[str, str] = {}
        for name, fmt in CLI_FORMATS.items():
            text = self._cli(example.path, fmt)
            out[name] = json_text(orjson.loads(text)) if name.endswith(".json") else text
        out["result.html"] = self._page(example.path)
        if example.kind == "fhir":
            out["cards.json"] = json_text(self._cards(example.path))
        return {name: normalise(text, self.pack_hash) for name, text in out.items()}

    def _cli(self, path: Path, fmt: str) -> str:
        args = ["assess", str(path), "--format", fmt, "--as-of", AS_OF.isoformat()]
        result = self.cli.invoke(self.cli_app, args, catch_exceptions=False)
        if result.exit_code != 0:
            raise AssertionError(f"calcinosis {' '.join(args)}: exit {result.exit_code}\n{result.output}")
        return result.stdout

    def _page(self, path: Path) -> str:
        files = {"file": (path.name, path.read_bytes(), "application/json")}
        r = self.client.post("/assess/upload", files=files)
        if r.status_code != 200:
            raise AssertionError(f"POST /assess/upload {path.name}: {r.status_code}\n{r.text[:2000]}")
        return r.text

    def _cards(self, path: Path) -> Any:
        pid, prefetch = prefetch_of(orjson.loads(path.read_bytes()))
        body = {
            "hook": "patient-view",
            "hookInstance": HOOK_INSTANCE,
            "context": {"userId": "Practitioner/golden", "patientId": pid},
            "prefetch": prefetch,
        }
        r = self.client.post(PATIENT_VIEW, json=body)
        if r.status_code != 200:
            raise AssertionError(f"patient-view {path.name}: {r.status_code}\n{r.text[:2000]}")
        return r.json()


def stored(example: Example) -> dict[str, str]:
    folder = golden_dir(example)
    if not folder.is_dir():
        return {}
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir()) if p.is_file()}


def write(example: Example, outputs: dict[str, str]) -> list[str]:
    """Write one example's files; return the names that changed (added, altered or removed)."""
    folder = golden_dir(example)
    folder.mkdir(parents=True, exist_ok=True)
    before = stored(example)
    changed = []
    for name, text in outputs.items():
        if before.get(name) != text:
            (folder / name).write_text(text, encoding="utf-8", newline="\n")
            changed.append(name)
    for name in sorted(set(before) - set(outputs)):
        (folder / name).unlink()
        changed.append(name)
    return changed


def orphans() -> list[Path]:
    """Golden folders no example produces any more."""
    known = {golden_dir(e) for e in examples()}
    return sorted(d for kind in EXAMPLES for d in (GOLDEN / kind).glob("*") if d.is_dir() and d not in known)


MAX_DIFF_LINES = 120


def differences(example: Example, outputs: dict[str, str]) -> str | None:
    """A unified diff of the stored files against ``outputs`` (None when they are the same)."""
    before = stored(example)
    parts: list[str] = []
    for name in sorted(set(outputs) | set(before)):
        old, new = before.get(name), outputs.get(name)
        if old == new:
            continue
        where = f"tests/golden/{example.key}/{name}"
        if old is None:
            parts.append(f"--- {where} is missing (a new output)\n")
            continue
        if new is None:
            parts.append(f"--- {where} is no longer produced\n")
            continue
        lines = list(
            difflib.unified_diff(
                old.splitlines(keepends=True), new.splitlines(keepends=True), where, f"{where} (now)"
            )
        )
        if len(lines) > MAX_DIFF_LINES:
            lines = [*lines[:MAX_DIFF_LINES], f"... {len(lines) - MAX_DIFF_LINES} more diff lines\n"]
        parts.append("".join(lines))
    if not parts:
        return None
    return (
        f"{example.key}: the output differs from its reviewed golden file(s).\n"
        + "\n".join(parts)
        + "\nIf the change is intended, run `make golden` and review `git diff tests/golden` before committing."
    )
