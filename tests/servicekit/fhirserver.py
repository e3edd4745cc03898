"""A FHIR-like server on loopback for the tests: serves a patient's resources (searches return searchset
Bundles), a JWKS document, checks a bearer token, and can be told to be slow or to fail."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson


@dataclass
class FhirState:
    resources: list[dict[str, Any]] = field(default_factory=list)
    token: str | None = None
    delay_s: float = 0.0
    drip_s: float = 0.0  # send the body a few bytes at a time, this long between writes
    pad_bytes: int = 0  # pad every searchset Bundle with this many bytes of text
    fail_status: int | None = None
    jwks: dict[str, Any] | None = None
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: FhirState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: Any) -> None:
            data = orjson.dumps(body)
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if not state.drip_s:
                self.wfile.write(data)
                return
            try:
                for i in range(0, len(data), 16):
                    self.wfile.write(data[i : i + 16])
                    self.wfile.flush()
                    time.sleep(state.drip_s)
            except OSError:
                pass  # the client gave up

        def do_GET(self) -> None:
            with state.lock:
                state.requests.append((self.path, self.headers.get("Authorization")))
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
            try:
                self._get()
            finally:
                with state.lock:
                    state.in_flight -= 1

        def _get(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/jwks.json" and state.jwks is not None:
                self._send(200, state.jwks)
                return
            if state.delay_s:
                time.sleep(state.delay_s)
            if state.fail_status:
                self._send(state.fail_status, {"resourceType": "OperationOutcome", "issue": []})
                return
            if state.token is not None and self.headers.get("Authorization") != f"Bearer {state.token}":
                self._send(401, {"resourceType": "OperationOutcome", "issue": []})
                return
            segments = [p for p in parts.path.split("/") if p][1:]  # drop the /fhir prefix
            if len(segments) == 2:
                found = [
                    r
                    for r in state.resources
                    if r["resourceType"] == segments[0] and r.get("id") == segments[1]
                ]
                self._send(200, found[0]) if found else self._send(
                    404, {"resourceType": "OperationOutcome", "issue": []}
                )
                return
            rtype = segments[0] if segments else ""
            query = parse_qs(parts.query)
            matches = [r for r in state.resources if r["resourceType"] == rtype]
            if "category" in query:
                matches = [
                    r for r in matches if query["category"][0] in orjson.dumps(r.get("category", [])).decode()
                ]
            bundle = {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": len(matches),
                "entry": [{"resource": r} for r in matches],
            }
            if state.pad_bytes:
                bundle["meta"] = {"tag": [{"display": "x" * 1000} for _ in range(state.pad_bytes // 1000)]}
            self._send(200, bundle)

    return Handler


class _Server(ThreadingHTTPServer):
    # The listen backlog of a real FHIR server: with the default of 5, a client opening more connections at
    # once (our prefetch fetches every missing key in parallel) waits for a SYN retry, about a second.
    request_queue_size = 128


@contextmanager
def fhir_server(state: FhirState) -> Iterator[str]:
    """Serve ``state`` on a free loopback port; yields the FHIR base URL (``http://127.0.0.1:P/fhir``)."""
    server = _Server(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/fhir"
    finally:
        server.shutdown()
        server.server_close()
