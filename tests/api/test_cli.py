"""`calcinosis audit list|export|verify` and `calcinosis serve` refusing bad settings."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import httpx
import orjson

from tests.conftest import load_case
from tests.servicekit.server import LiveServer, clean_environ


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "calcinosis", *args],
        capture_output=True,
        text=True,
        env={**clean_environ(), **(env or {})},
        timeout=120,
    )


def test_audit_commands_list_export_and_verify_what_was_served(server: LiveServer) -> None:
    ids = [
        httpx.post(f"{server.url}/assess", json=load_case(n), timeout=30).headers["X-Request-Id"]
        for n in ("lcssc-circumscripta-fingertips", "idiopathic-no-labs")
    ]
    env = {"CALCINOSIS_DATA_DIR": str(server.workdir)}
    listing = _cli("audit", "list", "--limit", "5", env=env)
    assert (
        listing.returncode == 0
        and "assess" in listing.stdout
        and "record(s) in the sqlite store" in listing.stdout
    )
    export = _cli("audit", "export", env=env)
    records = [orjson.loads(line) for line in export.stdout.splitlines()]
    assert set(ids) <= {r["request_id"] for r in records}
    assert all(r["pack_hash"] and r["input_hash"] and r["output"] for r in records)
    out = server.workdir / "audit.csv"
    assert _cli("audit", "export", "--format", "csv", "-o", str(out), env=env).returncode == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert set(ids) <= {r["request_id"] for r in rows}
    verify = _cli("audit", "verify", env=env)
    assert verify.returncode == 0 and "store intact" in verify.stdout


def test_serve_refuses_bad_settings_with_one_line_when_started(tmp_path: Path) -> None:
    env = {"CALCINOSIS_DATA_DIR": str(tmp_path)}
    bad_issuer = _cli("serve", "--trusted-issuer", "no-equals-sign", env=env)
    assert bad_issuer.returncode == 2
    assert bad_issuer.stderr.strip().startswith("error: --trusted-issuer")
    bad_store = _cli(
        "serve", env={**env, "CALCINOSIS_DATABASE_URL": "postgresql://x@127.0.0.1:1/none?connect_timeout=2"}
    )
    assert bad_store.returncode == 4
    assert "Traceback" not in bad_store.stderr
    bad_budget = _cli("serve", env={**env, "CALCINOSIS_TIME_BUDGET_MS": "0"})
    assert bad_budget.returncode == 2 and "time_budget_ms" in bad_budget.stderr
