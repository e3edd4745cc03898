"""Live servers for the CDS Hooks tests: one open to loopback callers, one that trusts an EHR issuer."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.servicekit import fhirdata as F
from tests.servicekit.keys import SigningKey, jwks
from tests.servicekit.server import LiveServer

ISSUER = "https://ehr.example.test"
PV = "calcinosis-patient-view"
SIGN = "calcinosis-order-sign"
SELECT = "calcinosis-order-select"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("cds")) as live:
        yield live


class TrustedServer(LiveServer):
    es: SigningKey
    rs: SigningKey


@pytest.fixture(scope="module")
def trusted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrustedServer]:
    work = tmp_path_factory.mktemp("cds-jwt")
    es, rs = SigningKey.ec("ehr-es384"), SigningKey.rsa("ehr-rs384")
    jwks_file = work / "ehr-jwks.json"
    jwks_file.write_bytes(orjson.dumps(jwks(es, rs)))
    live = TrustedServer(work, args=["--trusted-issuer", f"{ISSUER}={jwks_file}"])
    live.es, live.rs = es, rs
    with live:
        yield live


def hook_request(
    hook: str,
    resources: list[dict[str, Any]],
    *,
    pid: str,
    drafts: tuple[str, ...] = (),
    prefetch: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    context: dict[str, Any] = {"userId": "Practitioner/dr-1", "patientId": pid}
    if hook != "patient-view":
        context["draftOrders"] = F.draft_orders(pid, *drafts)
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": context,
    }
    if prefetch:
        body["prefetch"] = F.prefetch(resources)
    body.update(extra)
    return body


def call(base: str, service: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{base}/cds-services/{service}", json=body, headers=headers or {}, timeout=30)


def audit_rows(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql, params).fetchall())
