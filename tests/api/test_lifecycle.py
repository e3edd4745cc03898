"""The server process and its children: engine processes die with their parent (even on SIGKILL), and
SIGTERM stops the server within its graceful timeout whatever requests are still running."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import orjson
import pytest

from tests.servicekit import fhirdata as F
from tests.servicekit.server import LiveServer

GRACEFUL_S = 3
MARGIN_S = 4.0


def _children() -> dict[int, list[int]]:
    """ppid -> pids, from /proc, for processes that are not zombies."""
    out: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] == "Z":
            continue
        out.setdefault(int(fields[1]), []).append(int(entry.name))
    return out


def descendants(pid: int) -> set[int]:
    tree = _children()
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    out = set()
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if stat[stat.rindex(")") + 2] != "Z":
            out.add(pid)
    return out


def _wait_gone(pids: set[int], within: float) -> set[int]:
    deadline = time.monotonic() + within
    while (left := alive(pids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


RUNAWAY_LIMITS = {"CALCINOSIS_MAX_BODY_BYTES": "30000000", "CALCINOSIS_MAX_TEXT_CHARS": "100000"}


def runaway_case() -> bytes:
    """20 MB of free text (the test server's limits are raised for it): seconds of engine work even for a
    matcher linear in its input, and far more for one that is not."""
    words = "painful calcified nodule with chalky white discharge and ulceration after trauma on the finger "
    text = (words * 2000)[:100_000]
    return orjson.dumps({"conditions": [{"text": text} for _ in range(200)]})


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_engine_processes_die_with_the_server_when_it_is_killed(tmp_path: Path) -> None:
    server = LiveServer(tmp_path, args=["--engine-processes", "2"]).start()
    assert server.proc is not None
    try:
        kids = descendants(server.proc.pid)
        assert len(kids) >= 2, kids  # the engine processes (and whatever helpers they need)
        body = {
            "hook": "patient-view",
            "hookInstance": "00000000-0000-4000-8000-000000000021",
            "context": {"userId": "Practitioner/1", "patientId": "pt-ssc"},
            "prefetch": F.prefetch(F.ssc_calcinosis()),
        }
        assert httpx.post(f"{server.url}/cds-services/calcinosis-patient-view", json=body).status_code == 200
        kids = descendants(server.proc.pid)
    finally:
        server.kill()
    assert _wait_gone(kids, 10) == set(), "engine processes outlived their parent"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
@pytest.mark.parametrize("engine_processes", ["0", "2"])
def test_sigterm_stops_the_server_within_its_graceful_timeout_while_a_runaway_request_runs(
    tmp_path: Path, engine_processes: str
) -> None:
    env = {"CALCINOSIS_GRACEFUL_TIMEOUT_S": str(GRACEFUL_S), **RUNAWAY_LIMITS}
    server = LiveServer(tmp_path, env=env, args=["--engine-processes", engine_processes]).start()
    assert server.proc is not None
    outcome: dict[str, object] = {}

    def runaway() -> None:
        try:
            r = httpx.post(
                f"{server.url}/assess",
                content=runaway_case(),
                headers={"Content-Type": "application/json"},
                timeout=300,
            )
            outcome["status"] = r.status_code
        except httpx.HTTPError as exc:
            outcome["error"] = type(exc).__name__

    try:
        kids = descendants(server.proc.pid)
        client = threading.Thread(target=runaway)
        client.start()
        time.sleep(2.0)  # the request is being assessed
        assert client.is_alive(), outcome  # still running: a runaway
        start = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(timeout=GRACEFUL_S + MARGIN_S + 30)
        took = time.monotonic() - start
        client.join(timeout=30)
    finally:
        server.kill()
    assert took < GRACEFUL_S + MARGIN_S, took
    assert _wait_gone(kids, 10) == set()
    assert outcome.get("status", 0) != 500
    assert "Traceback" not in server.log()
    assert server.proc.returncode in (0, -signal.SIGTERM)
