"""Bounded work per request: every limit is a setting, refused with 413/422 and an OperationOutcome that
names it, on a real server with its default settings. JSON is decoded strictly at the edge."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from calcinosis.settings import Settings
from tests.servicekit import fhirdata as F
from tests.servicekit.server import LiveServer

ROOT = Path(__file__).resolve().parents[2]
LIMITS = ("max_body_bytes", "max_json_depth", "max_resources", "max_list_items", "max_text_chars")
DEFAULTS = {name: Settings.model_fields[name].default for name in LIMITS}
PV = "calcinosis-patient-view"


def _post(server: LiveServer, raw: bytes, path: str = "/assess") -> httpx.Response:
    return httpx.post(
        f"{server.url}{path}", content=raw, headers={"Content-Type": "application/json"}, timeout=60
    )


def _refused(r: httpx.Response, status: int, limit: str | None = None) -> str:
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"].startswith("application/fhir+json")
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    diagnostics: str = body["issue"][0]["diagnostics"]
    if limit is not None:
        assert f"CALCINOSIS_{limit.upper()}" in diagnostics, diagnostics
    return diagnostics


def _hook(prefetch: dict[str, Any]) -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/dr-1", "patientId": "pt-ssc"},
        "prefetch": prefetch,
    }


def _nested(depth: int) -> bytes:
    return b'{"conditions": [{"text": "ssc", "extra": ' + b"[" * depth + b"]" * depth + b"}]}"


def test_every_limit_is_documented_with_its_default_when_read() -> None:
    api = (ROOT / "docs" / "api.md").read_text()
    for name, default in DEFAULTS.items():
        row = re.search(rf"^\| `{name.upper()}` \| ([^|]+) \|", api, re.MULTILINE)
        assert row, f"{name} is not in the settings table of docs/api.md"
        assert str(default) in row.group(1).replace(",", "").replace(" ", ""), (name, row.group(1))


@pytest.mark.parametrize("depth", [255, 300, 600, 1020, 1100])
def test_deep_nesting_is_a_422_naming_the_depth_limit_when_posted(server: LiveServer, depth: int) -> None:
    _refused(_post(server, _nested(depth)), 422, "max_json_depth")


def test_nesting_within_the_limit_is_assessed_when_posted(server: LiveServer) -> None:
    assert _post(server, _nested(DEFAULTS["max_json_depth"] - 6)).status_code == 200


def test_a_lone_surrogate_in_cds_prefetch_text_is_a_4xx_when_called(server: LiveServer) -> None:
    prefetch = F.prefetch(F.ssc_calcinosis())
    raw = orjson.dumps(_hook(prefetch)).replace(b"systemic sclerosis", b"systemic sclerosis \\ud800", 1)
    assert b"\\ud800" in raw
    r = _post(server, raw, f"/cds-services/{PV}")
    assert 400 <= r.status_code < 500
    assert "surrogate" in _refused(r, r.status_code)


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b'{"age_years": NaN}', "not valid JSON"),
        (b'{"age_years": Infinity}', "not valid JSON"),
        (b'{"age_years": 1e999}', "not valid JSON"),
        (b'{"conditions": ["ssc \\udc00"]}', "surrogate"),
        (b'{"conditions": ["ssc \xc0\xaf"]}', "UTF-8"),
        (b'{"conditions": ["ssc \xed\xa0\x80"]}', "UTF-8"),
        (b'{"conditions": ["ssc \\u0000 nul"]}', "NUL"),
        (b'{"age_years": 50, "age_years": 70}', "duplicate key 'age_years'"),
        (b'{"resourceType": "Patient", "id": "a", "resourceType": "Bundle"}', "duplicate key 'resourceType'"),
    ],
)
def test_junk_json_is_a_422_naming_what_is_wrong_when_posted(
    server: LiveServer, raw: bytes, words: str
) -> None:
    assert words in _refused(_post(server, raw), 422)


def test_a_body_over_the_byte_limit_is_a_413_naming_it_when_posted(server: LiveServer) -> None:
    raw = b'{"notes": "' + b"x" * DEFAULTS["max_body_bytes"] + b'"}'
    _refused(_post(server, raw), 413, "max_body_bytes")


def test_a_text_over_the_length_limit_is_a_422_naming_it_when_posted(server: LiveServer) -> None:
    too_long = "calcinosis " * (DEFAULTS["max_text_chars"] // 11 + 1)
    diagnostics = _refused(_post(server, orjson.dumps({"conditions": [too_long]})), 422, "max_text_chars")
    assert "conditions[0]" in diagnostics


def test_narrative_longer_than_the_text_limit_is_not_refused_when_fhir(server: LiveServer) -> None:
    patient = F.patient("p1", "female", "1960-01-01")
    patient["text"] = {
        "status": "generated",
        "div": "<div>" + "x" * DEFAULTS["max_text_chars"] * 2 + "</div>",
    }
    assert _post(server, orjson.dumps(patient)).status_code == 200


def test_too_many_list_items_are_a_422_naming_the_limit_when_native(server: LiveServer) -> None:
    case = {"conditions": [f"condition {i}" for i in range(DEFAULTS["max_list_items"] + 1)]}
    assert "conditions" in _refused(_post(server, orjson.dumps(case)), 422, "max_list_items")
    lesion = {"lesions": [{"site": "finger", "features": ["painful"] * (DEFAULTS["max_list_items"] + 1)}]}
    _refused(_post(server, orjson.dumps(lesion)), 422, "max_list_items")


def test_too_many_resources_are_a_422_naming_the_limit_over_rest_and_cds_hooks(server: LiveServer) -> None:
    n = DEFAULTS["max_resources"] + 1
    conditions = [F.condition("pt-ssc", f"c{i}", "Raynaud") for i in range(n)]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in conditions]}
    _refused(_post(server, orjson.dumps(bundle)), 422, "max_resources")
    prefetch = F.prefetch(F.ssc_calcinosis())
    prefetch["conditions"] = F.searchset(conditions)
    _refused(_post(server, orjson.dumps(_hook(prefetch)), f"/cds-services/{PV}"), 422, "max_resources")


def test_cli_assess_applies_the_same_limits_with_one_line_and_exit_2(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.servicekit.server import clean_environ

    cases = {
        "deep.json": _nested(600),
        "dup.json": b'{"age_years": 50, "age_years": 70}',
        "nan.json": b'{"age_years": NaN}',
        "long.json": orjson.dumps({"conditions": ["x" * (DEFAULTS["max_text_chars"] + 1)]}),
        "big.json": b'{"notes": "' + b"x" * DEFAULTS["max_body_bytes"] + b'"}',
    }
    for name, raw in cases.items():
        (tmp_path / name).write_bytes(raw)
        done = subprocess.run(
            [sys.executable, "-m", "calcinosis", "assess", str(tmp_path / name)],
            capture_output=True,
            text=True,
            env=clean_environ(),
            timeout=120,
        )
        assert done.returncode == 2, (name, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("error: "), done.stderr
        assert "Traceback" not in done.stderr
