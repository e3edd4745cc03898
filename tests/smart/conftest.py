"""The app (``calcinosis serve`` with SMART settings) and the EHR double, each a real process on loopback.

Two pairs: the app registered as a public client, and as a confidential client (``private_key_jwt`` with an
ES384 key whose public JWKS the double reads from the app's ``/.well-known/jwks.json``).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import orjson
import pytest
from joserfc.jwk import ECKey

from tests.servicekit.ehr import EXAMPLES, EhrDouble
from tests.servicekit.server import LiveServer

CLIENT_ID = "calcinosis-cds"
PATIENT = "lcssc-circumscripta-fingertips"
OTHER = "calciphylaxis-dialysis-warfarin"


@dataclass
class Pair:
    app: LiveServer
    ehr: EhrDouble

    def db(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.app.db_path) as conn:
            return list(conn.execute(sql, params).fetchall())


def _pair(work: Path, *, confidential: bool) -> Iterator[Pair]:
    app = LiveServer(work)
    env = {
        "CALCINOSIS_SMART_CLIENT_ID": CLIENT_ID,
        "CALCINOSIS_SMART_TIMEOUT_MS": "1500",
    }
    jwks_uri = None
    if confidential:
        key_path = work / "client-key.pem"
        key_path.write_bytes(ECKey.generate_key("P-384").as_pem(private=True))
        env["CALCINOSIS_SMART_PRIVATE_KEY"] = str(key_path)
        env["CALCINOSIS_SMART_KEY_ID"] = "calcinosis-es384"
        jwks_uri = f"{app.url}/.well-known/jwks.json"
    ehr = EhrDouble(work, app_launch=f"{app.url}/launch", client_id=CLIENT_ID, jwks_uri=jwks_uri)
    env["CALCINOSIS_SMART_ALLOWED_ISS"] = f"{ehr.fhir},https://ehr.example.test/fhir"
    app.env.update(env)
    with ehr, app:
        yield Pair(app, ehr)


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    yield from _pair(tmp_path_factory.mktemp("smart-public"), confidential=False)


@pytest.fixture(scope="module")
def confidential(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    yield from _pair(tmp_path_factory.mktemp("smart-confidential"), confidential=True)


@pytest.fixture
def pair(public: Pair) -> Iterator[Pair]:
    """The public pair, with the double back to its normal behaviour after each test."""
    public.ehr.reset()
    yield public
    public.ehr.reset()


@dataclass
class Hop:
    url: str
    status: int
    location: str | None


class Browser:
    """An httpx client that follows redirects across the app and the EHR by hand, keeping every hop."""

    def __init__(self) -> None:
        self.http = httpx.Client(trust_env=False, follow_redirects=False, timeout=30)
        self.hops: list[Hop] = []

    def go(self, url: str, *, stop_at: str | None = None, method: str = "GET") -> httpx.Response:
        """Follow redirects from ``url``; stop before requesting a URL whose path starts with ``stop_at``."""
        for _ in range(12):
            response = self.http.request(method, url)
            method = "GET"
            location = response.headers.get("location")
            self.hops.append(Hop(url, response.status_code, location))
            if response.status_code not in (301, 302, 303, 307) or not location:
                return response
            url = urljoin(url, location)
            if stop_at and urlsplit(url).path.startswith(stop_at):
                return response
        raise AssertionError("too many redirects")

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    b = Browser()
    yield b
    b.close()


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def example_count(patient: str, rtype: str) -> int:
    """How many resources of a type the example Bundle holds for a patient (the double serves them all)."""
    for path in EXAMPLES.glob("*.json"):
        bundle = orjson.loads(path.read_bytes())
        entries = [e["resource"] for e in bundle["entry"]]
        if any(r["resourceType"] == "Patient" and r["id"] == patient for r in entries):
            return sum(1 for r in entries if r["resourceType"] == rtype)
    raise AssertionError(f"no example for {patient}")


def read_rows(html: str) -> dict[str, tuple[str, str, str]]:
    """The 'Read from the EHR' table: type -> (count, dates, status text)."""
    rows = re.findall(
        r'<tr class="smart-[a-z-]+" data-type="(\w+)">\s*<th scope="row">\w+</th>\s*'
        r'<td class="count">([^<]*)</td>\s*<td>([^<]*)</td>\s*<td>(.*?)</td>',
        html,
        re.S,
    )
    return {t: (c.strip(), d.strip(), re.sub(r"<[^>]+>", "", s).strip()) for t, c, d, s in rows}
