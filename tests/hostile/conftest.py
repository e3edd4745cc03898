"""Live servers for the hostile-input suite, and a tally of every answer (status and time) that the suite
writes to ``tests/artifacts/hostile.json`` at the end of the session."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.servicekit.keys import SigningKey, jwks
from tests.servicekit.server import LiveServer

ISSUER = "https://ehr.hostile.test"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
TALLY: list[dict[str, Any]] = []


def record(channel: str, name: str, status: int, seconds: float) -> None:
    TALLY.append({"channel": channel, "case": name, "status": status, "seconds": round(seconds, 4)})


def timed(channel: str, name: str, send: Callable[[], httpx.Response]) -> httpx.Response:
    start = time.monotonic()
    r = send()
    record(channel, name, r.status_code, time.monotonic() - start)
    assert r.status_code < 500, (channel, name, r.status_code, r.text[:300])
    return r


@pytest.fixture(scope="session", autouse=True)
def _write_tally() -> Iterator[None]:
    yield
    if not TALLY:
        return
    mix: dict[str, dict[str, int]] = {}
    worst: dict[str, dict[str, Any]] = {}
    for row in TALLY:
        by = mix.setdefault(row["channel"], {})
        by[str(row["status"])] = by.get(str(row["status"]), 0) + 1
        if row["seconds"] > worst.get(row["channel"], {"seconds": -1})["seconds"]:
            worst[row["channel"]] = row
    ARTIFACTS.mkdir(exist_ok=True)
    summary = {"requests": len(TALLY), "status_mix": mix, "worst_latency": worst, "rows": TALLY}
    (ARTIFACTS / "hostile.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("hostile"), args=["--demo", "--engine-processes", "1"]) as live:
        yield live


class TrustedServer(LiveServer):
    key: SigningKey


@pytest.fixture(scope="module")
def trusted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrustedServer]:
    work = tmp_path_factory.mktemp("hostile-jwt")
    key = SigningKey.ec("ehr-hostile")
    jwks_file = work / "jwks.json"
    jwks_file.write_bytes(orjson.dumps(jwks(key)))
    live = TrustedServer(work, args=["--trusted-issuer", f"{ISSUER}={jwks_file}"])
    live.key = key
    with live:
        yield live


def no_traceback(live: LiveServer) -> None:
    log = live.log()
    assert "Traceback" not in log, log[log.index("Traceback") - 500 : log.index("Traceback") + 3000]
    assert " 500 " not in log and "unexpected " not in log, log[-3000:]
