"""Service load on loopback: patient-view with full prefetch against a trivial endpoint of the same app.

Starts ``calcinosis serve`` on a free port with a throw-away store, sends a bounded number of requests with
a fixed concurrency, and prints throughput and p50/p95/p99 latency (server-side from ``Server-Timing``, and
as the client saw it) for both endpoints and their ratio, all measured in this run. Also times JWT
verification with a warm key cache. Targets (docs/cds-hooks.md): patient-view p95 <= 100 ms server-side,
>= 150 requests/s on 2 cores, JWT verification <= 2 ms.

    python benchmarks/service.py [--requests 2000] [--concurrency 4] [--workers 1] [--engine-processes 2]
                                 [--before SRC]

``--before SRC`` also serves the same load from another source tree (e.g. ``git archive main src | tar -x
-C /tmp/before``), so that before and after are measured in one run on one machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

PID = "bench-patient"


def _fhir_patient() -> dict[str, Any]:
    """A calciphylaxis patient on dialysis: the heaviest card set (alerts, subtype, options)."""
    ref = {"reference": f"Patient/{PID}"}
    active = {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
    }

    def cond(cid: str, text: str, **extra: Any) -> dict[str, Any]:
        return {
            "resourceType": "Condition",
            "id": cid,
            "subject": ref,
            "clinicalStatus": active,
            "code": {"text": text},
            **extra,
        }

    def lab(oid: str, code: str, value: float, unit: str) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "id": oid,
            "status": "final",
            "subject": ref,
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "effectiveDateTime": "2026-11-01",
            "valueQuantity": {
                "value": value,
                "unit": unit,
                "system": "http://unitsofmeasure.org",
                "code": unit,
            },
        }

    def searchset(items: list[dict[str, Any]]) -> dict[str, Any]:
        return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in items]}

    return {
        "patient": {"resourceType": "Patient", "id": PID, "gender": "female", "birthDate": "1962-04-02"},
        "conditions": searchset(
            [
                cond("c1", "End-stage renal disease"),
                cond("c2", "Dependence on renal dialysis (haemodialysis)"),
                cond(
                    "c3",
                    "Calciphylaxis",
                    bodySite=[{"text": "left thigh"}],
                    note=[{"text": "Exquisitely painful retiform purpura with a necrotic eschar"}],
                ),
            ]
        ),
        "labs": searchset(
            [
                lab("o1", "17861-6", 9.9, "mg/dL"),
                lab("o2", "2777-1", 7.4, "mg/dL"),
                lab("o3", "1751-7", 3.4, "g/dL"),
            ]
        ),
        "medications": searchset(
            [
                {
                    "resourceType": "MedicationRequest",
                    "id": "m1",
                    "status": "active",
                    "intent": "order",
                    "subject": ref,
                    "medicationCodeableConcept": {"text": "Sevelamer 800 mg"},
                }
            ]
        ),
        "findings": None,
        "procedures": None,
    }


def hook_body(variant: int | None = None) -> bytes:
    """The call an EHR sends; ``variant`` makes a distinct patient (other id, other phosphate value)."""
    prefetch = _fhir_patient()
    pid = PID
    if variant is not None:
        pid = f"{PID}-{variant}"
        text = orjson.dumps(prefetch).decode().replace(PID, pid)
        prefetch = orjson.loads(text)
        prefetch["labs"]["entry"][1]["resource"]["valueQuantity"]["value"] = 5.0 + (variant % 400) / 100
    return orjson.dumps(
        {
            "hook": "patient-view",
            "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/bench", "patientId": pid},
            "prefetch": prefetch,
        }
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(
    workdir: Path, workers: int, engines: int, source: Path | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALCINOSIS_")}
    env["CALCINOSIS_DATA_DIR"] = str(workdir)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    cmd = [sys.executable, "-m", "calcinosis", "serve", "--port", str(port), "--log-level", "warning"]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    if engines:
        cmd += ["--engine-processes", str(engines)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


@dataclass
class Run:
    name: str
    seconds: float
    server_ms: list[float]
    client_ms: list[float]
    errors: int

    @property
    def rps(self) -> float:
        return len(self.client_ms) / self.seconds

    def line(self) -> str:
        s, c = pct(self.server_ms), pct(self.client_ms)
        return (
            f"{self.name:<34} {self.rps:8.1f} req/s  server p50/p95/p99 {s[0]:6.1f} {s[1]:6.1f} {s[2]:6.1f} ms"
            f"   client p50/p95/p99 {c[0]:6.1f} {c[1]:6.1f} {c[2]:6.1f} ms   errors {self.errors}"
        )


def pct(values: list[float]) -> tuple[float, float, float]:
    if not values:
        return (float("nan"),) * 3
    q = statistics.quantiles(values, n=100, method="inclusive")
    return statistics.median(values), q[94], q[98]


async def _connection(
    host: str, port: int, requests: list[bytes], jobs: asyncio.Queue[int], run: Run
) -> None:
    """One keep-alive HTTP/1.1 connection sending pre-built requests: a client light enough not to steal
    the server's CPU (httpx costs more per request than the endpoints being measured)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            try:
                job = jobs.get_nowait()
            except asyncio.QueueEmpty:
                return
            t0 = time.perf_counter()
            writer.write(requests[job % len(requests)])
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            headers = {
                k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            await reader.readexactly(int(headers.get("content-length", "0")))
            run.client_ms.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                run.errors += 1
            if "dur=" in headers.get("server-timing", ""):
                run.server_ms.append(float(headers["server-timing"].split("dur=")[1]))
    finally:
        writer.close()


def build_request(method: str, path: str, port: int, body: bytes | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: keep-alive"]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def load(
    name: str, url: str, method: str, path: str, bodies: list[bytes] | None, total: int, concurrency: int
) -> Run:
    port = int(url.rsplit(":", 1)[1])
    request = (
        [build_request(method, path, port, b) for b in bodies]
        if bodies
        else [build_request(method, path, port, None)]
    )
    warm = Run(name, 0.0, [], [], 0)
    jobs: asyncio.Queue[int] = asyncio.Queue()
    for i in range(20):
        jobs.put_nowait(i)
    await _connection("127.0.0.1", port, request, jobs, warm)  # warm-up, not counted
    run = Run(name, 0.0, [], [], 0)
    for i in range(20, 20 + total):
        jobs.put_nowait(i)
    t0 = time.perf_counter()
    await asyncio.gather(*(_connection("127.0.0.1", port, request, jobs, run) for _ in range(concurrency)))
    run.seconds = time.perf_counter() - t0
    return run


def jwt_verify_us(alg: str, samples: int = 1000) -> tuple[float, float]:
    """Median and p95 of one full verification (header, issuer, kid, signature, claims, replay) warm."""
    from calcinosis.server.jwks import KeyRing
    from calcinosis.server.security import TokenVerifier
    from calcinosis.settings import load_settings

    key: Any
    if alg == "ES384":
        key = ec.generate_private_key(ec.SECP384R1())
        jwk = {**orjson.loads(ECAlgorithm.to_jwk(key.public_key())), "kid": "k1", "alg": alg}
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = {**orjson.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": "k1", "alg": alg}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "jwks.json"
        path.write_bytes(orjson.dumps({"keys": [jwk]}))
        iss, aud = "https://ehr.bench", "http://127.0.0.1/cds-services/calcinosis-patient-view"
        now = int(time.time())
        tokens = [
            jwt.encode(
                {"iss": iss, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())},
                key,
                algorithm=alg,
                headers={"kid": "k1", "typ": "JWT"},
            )
            for _ in range(samples + 1)
        ]

        async def run() -> list[float]:
            async with httpx.AsyncClient() as http:
                verifier = TokenVerifier(load_settings(trusted_issuers={iss: str(path)}), KeyRing(60, http))
                await verifier.caller(f"Bearer {tokens[0]}", aud, "10.0.0.1")  # warm the key cache
                out = []
                for token in tokens[1:]:
                    t0 = time.perf_counter()
                    await verifier.caller(f"Bearer {token}", aud, "10.0.0.1")
                    out.append((time.perf_counter() - t0) * 1e6)
                return out

        times = asyncio.run(run())
    return statistics.median(times), statistics.quantiles(times, n=100)[94]


def measure(args: argparse.Namespace, source: Path | None = None) -> tuple[Run, Run, Run]:
    """Discovery, a repeated patient and distinct patients against one server."""
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(Path(tmp), args.workers, args.engine_processes, source)
        try:
            path = "/cds-services/calcinosis-patient-view"
            trivial = asyncio.run(
                load(
                    "GET /cds-services (discovery)",
                    url,
                    "GET",
                    "/cds-services",
                    None,
                    args.requests,
                    args.concurrency,
                )
            )
            hook = asyncio.run(
                load(
                    "patient-view, repeat patient",
                    url,
                    "POST",
                    path,
                    [hook_body()],
                    args.requests,
                    args.concurrency,
                )
            )
            distinct = [hook_body(i) for i in range(args.requests + 20)]
            fresh = asyncio.run(
                load(
                    "patient-view, distinct patients",
                    url,
                    "POST",
                    path,
                    distinct,
                    args.requests,
                    args.concurrency,
                )
            )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return trivial, hook, fresh


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--engine-processes", type=int, default=2, help="assessment processes (0: threads)")
    parser.add_argument("--before", type=Path, help="another source tree to serve the same load from")
    args = parser.parse_args()
    before = measure(args, args.before) if args.before is not None else None
    trivial, hook, fresh = measure(args)
    print(
        f"loopback, {args.requests} requests per endpoint, concurrency {args.concurrency}, "
        f"{args.workers} server process(es), {args.engine_processes} engine process(es), {os.cpu_count()} CPUs"
    )
    print(trivial.line())
    for run in (hook, fresh):
        print(run.line())
        print(
            f"  ratio to discovery: throughput {run.rps / trivial.rps:.2f}x, server p95 "
            f"{pct(run.server_ms)[1] / pct(trivial.server_ms)[1]:.1f}x"
        )
    worst = 0.0
    for alg in ("RS384", "ES384"):
        med, p95 = jwt_verify_us(alg)
        worst = max(worst, p95)
        print(f"JWT verification ({alg}, warm key cache, full check): median {med:.0f} us, p95 {p95:.0f} us")
    for run in (hook, fresh):
        p95_ok = pct(run.server_ms)[1] <= 100
        print(
            f"targets, {run.name}: server p95 <= 100 ms {'met' if p95_ok else 'NOT met'}; "
            f">= 150 req/s {'met' if run.rps >= 150 else 'NOT met'}"
        )
    print(f"target JWT <= 2 ms: {'met' if worst <= 2000 else 'NOT met'} (worst p95 {worst:.0f} us)")
    if before is not None:
        print(f"before ({args.before}), same load, measured first:")
        for run in before:
            print("  " + run.line())
        print(
            f"distinct patients: {fresh.rps:.1f} req/s now vs {before[2].rps:.1f} before "
            f"({fresh.rps / before[2].rps:.2f}x); server p95 {pct(fresh.server_ms)[1]:.1f} vs "
            f"{pct(before[2].server_ms)[1]:.1f} ms"
        )


if __name__ == "__main__":
    main()
