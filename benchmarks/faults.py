"""Faults, measured: the CDS Hooks budget under slow input and slow FHIR servers, and a PostgreSQL outage.

Starts real servers on loopback (and, for the outage, a throwaway PostgreSQL cluster), and prints, all
measured in this run:

- the CDS budget held: response times of patient-view at the default budget (1.5 s) with slow input within
  every limit (in threads and in engine processes) and with a FHIR server that hangs or drips its answer,
  beside the time the same input takes when assessed without a budget (``POST /assess``);
- a PostgreSQL outage: the status and time of each kind of request while the database is stopped, and how
  long after it is started again the service answers 200 by itself.

    python benchmarks/faults.py [--calls 5] [--no-postgres]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servicekit import fhirdata as F  # noqa: E402
from tests.servicekit.fhirserver import FhirState, fhir_server  # noqa: E402
from tests.servicekit.server import LiveServer  # noqa: E402

PV = "calcinosis-patient-view"
TOKEN = "bench-token"  # noqa: S105 - the test FHIR server's token
WORDS = (
    "painful calcified nodule on the right index finger with chalky white discharge and ulceration after "
    "trauma, history of dermatomyositis and raynaud phenomenon; "
)


def slow_resources(n: int, chars: int) -> list[dict[str, Any]]:
    text = (WORDS * (chars // len(WORDS) + 1))[:chars]
    return F.ssc_calcinosis(extra=[F.condition("pt-ssc", f"x{i}", text) for i in range(n)])


def hook(resources: list[dict[str, Any]] | None, **extra: Any) -> bytes:
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/dr-1", "patientId": "pt-ssc"},
        **extra,
    }
    if resources is not None:
        body["prefetch"] = F.prefetch(resources)
    return orjson.dumps(body)


def post(url: str, body: bytes, timeout: float) -> Callable[[], httpx.Response]:
    return lambda: httpx.post(
        url, content=body, headers={"Content-Type": "application/json"}, timeout=timeout
    )


def timed(send: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    start = time.monotonic()
    r = send()
    return r, time.monotonic() - start


def complete(r: httpx.Response) -> bool:
    cards = r.json().get("cards", []) if r.status_code == 200 else []
    return all(
        c.get("extension", {}).get("org.calcinosis-cds.basis", {}).get("complete", True) for c in cards
    )


def row(label: str, times: list[float], note: str) -> None:
    print(f"| {label} | {len(times)} | {statistics.median(times):.3f} | {max(times):.3f} | {note} |")


def budget(calls: int) -> None:
    print("\n## CDS Hooks budget (default 1.5 s)\n")
    print("| case | calls | median s | max s | answers |")
    print("|---|---|---|---|---|")
    inputs = {
        "2,000 conditions × 150 chars (0.76 MB)": slow_resources(2000, 150),
        "3,000 conditions × 300 chars (within limits, 1.4 MB)": slow_resources(3000, 300),
    }
    for engines in ("0", "2"):
        with (
            tempfile.TemporaryDirectory() as tmp,
            LiveServer(Path(tmp), args=["--engine-processes", engines]) as live,
        ):
            url = f"{live.url}/cds-services/{PV}"
            for label, resources in inputs.items():
                body = hook(resources)
                results = [timed(post(url, body, 600)) for _ in range(calls)]
                statuses = sorted({r.status_code for r, _ in results})
                incomplete = sum(1 for r, _ in results if not complete(r))
                mode = "threads" if engines == "0" else "2 engine processes"
                row(
                    f"slow input, {mode}: {label}",
                    [t for _, t in results],
                    f"{statuses}, {incomplete} incomplete",
                )
                if engines == "0":
                    bundle = {
                        "resourceType": "Bundle",
                        "type": "collection",
                        "entry": [{"resource": r} for r in resources],
                    }
                    raw = orjson.dumps(bundle)
                    r, took = timed(post(f"{live.url}/assess", raw, 900))
                    row(f"same input, POST /assess (no budget): {label}", [took], f"[{r.status_code}]")
    auth = {
        "access_token": TOKEN,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "cds-service",
    }
    for label, state in (
        ("FHIR server hangs 30 s", FhirState(resources=F.ssc_calcinosis(), token=TOKEN, delay_s=30.0)),
        (
            "FHIR server drips (16 B / 0.2 s)",
            FhirState(resources=F.ssc_calcinosis(), token=TOKEN, drip_s=0.2),
        ),
    ):
        with fhir_server(state) as base, tempfile.TemporaryDirectory() as tmp, LiveServer(Path(tmp)) as live:
            body = hook(None, fhirServer=base, fhirAuthorization=auth)
            url = f"{live.url}/cds-services/{PV}"
            results = [timed(post(url, body, 120)) for _ in range(calls)]
            incomplete = sum(1 for r, _ in results if not complete(r))
            statuses = sorted({r.status_code for r, _ in results})
            row(label, [t for _, t in results], f"{statuses}, {incomplete} incomplete")


def outage(calls: int) -> None:
    from tests.servicekit.postgres import own_cluster

    print("\n## PostgreSQL stopped and started under a running server (STORE_TIMEOUT_MS=2000, default)\n")
    case = orjson.dumps(
        {"age_years": 60, "conditions": ["systemic sclerosis"], "lesions": [{"site": "finger"}]}
    )
    cds = hook(F.ssc_calcinosis())
    with own_cluster() as cluster, tempfile.TemporaryDirectory() as tmp:
        with LiveServer(Path(tmp), env={"CALCINOSIS_DATABASE_URL": cluster.url}) as live:
            kinds: dict[str, Callable[[], httpx.Response]] = {
                "GET /health": lambda: httpx.get(f"{live.url}/health", timeout=60),
                "POST /assess": lambda: httpx.post(
                    f"{live.url}/assess",
                    content=case,
                    headers={"Content-Type": "application/json"},
                    timeout=60,
                ),
                "CDS patient-view": lambda: httpx.post(
                    f"{live.url}/cds-services/{PV}",
                    content=cds,
                    headers={"Content-Type": "application/json"},
                    timeout=60,
                ),
                "web upload": lambda: httpx.post(
                    f"{live.url}/assess/upload", files={"file": ("c.json", case)}, timeout=60
                ),
            }
            cluster.halt()
            print("| while stopped | calls | statuses | Retry-After | median s | max s |")
            print("|---|---|---|---|---|---|")
            for name, send in kinds.items():
                results = [timed(send) for _ in range(calls)]
                statuses = sorted({r.status_code for r, _ in results})
                retry = sorted({r.headers.get("retry-after", "-") for r, _ in results})
                times = [t for _, t in results]
                print(
                    f"| {name} | {calls} | {statuses} | {retry} | {statistics.median(times):.3f} | {max(times):.3f} |"
                )
            cluster.resume()
            started = time.monotonic()
            while httpx.get(f"{live.url}/health", timeout=60).status_code != 200:
                time.sleep(0.1)
            healthy = time.monotonic() - started
            first = kinds["POST /assess"]()
            print(
                f"\nAfter the server is started again: /health 200 after {healthy:.2f} s; POST /assess {first.status_code}."
            )
            log = live.log()
        print(f"Server log: {log.count('Traceback')} tracebacks, {log.count(' 500 ')} access lines with 500.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    budget(args.calls)
    if not args.no_postgres:
        outage(args.calls)


if __name__ == "__main__":
    main()
