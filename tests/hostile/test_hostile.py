"""Hostile input over every way in: REST, CDS Hooks (whole bodies, prefetch values, feedback), the web
upload and form, the CLI, bad tokens and malformed HTTP. The assertion is the same everywhere: never a 5xx,
never a traceback (in the answer or the server's log), and for the CLI one line and exit code 2."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest

from tests.hostile import corpus
from tests.hostile.conftest import ISSUER, TrustedServer, no_traceback, record, timed
from tests.servicekit import fhirdata as F
from tests.servicekit.server import LiveServer, clean_environ

JSON = {"Content-Type": "application/json"}
PV = "calcinosis-patient-view"
SIGN = "calcinosis-order-sign"
BODIES = corpus.all_bodies()
IDS = [name for name, _ in BODIES]


def _hook_with(key: str, value: bytes) -> bytes:
    """A patient-view request whose prefetch ``key`` is the raw JSON ``value``."""
    prefetch = F.prefetch(F.ssc_calcinosis())
    prefetch[key] = "@@VALUE@@"
    body = orjson.dumps(
        {
            "hook": "patient-view",
            "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "context": {"userId": "Practitioner/dr-1", "patientId": "pt-ssc"},
            "prefetch": prefetch,
        }
    )
    return body.replace(b'"@@VALUE@@"', value)


@pytest.mark.parametrize(("name", "body"), BODIES, ids=IDS)
def test_rest_assess_never_answers_5xx(server: LiveServer, name: str, body: bytes) -> None:
    r = timed(
        "rest", name, lambda: httpx.post(f"{server.url}/assess", content=body, headers=JSON, timeout=120)
    )
    if r.status_code != 200:
        assert r.json()["resourceType"] == "OperationOutcome"
        assert "Traceback" not in r.text
    fhir = {**JSON, "Accept": "application/fhir+json"}
    timed(
        "rest-fhir", name, lambda: httpx.post(f"{server.url}/assess", content=body, headers=fhir, timeout=120)
    )


@pytest.mark.parametrize(("name", "body"), BODIES, ids=IDS)
def test_cds_hooks_never_answer_5xx(server: LiveServer, name: str, body: bytes) -> None:
    for service in (PV, SIGN):
        r = timed(
            "cds-body",
            name,
            lambda s=service: httpx.post(
                f"{server.url}/cds-services/{s}", content=body, headers=JSON, timeout=120
            ),
        )
        assert r.status_code != 200 or "cards" in r.json()
    feedback = f"{server.url}/cds-services/{PV}/feedback"
    timed("cds-feedback", name, lambda: httpx.post(feedback, content=body, headers=JSON, timeout=120))


@pytest.mark.parametrize(("name", "value"), corpus.embeddable(), ids=[n for n, _ in corpus.embeddable()])
def test_cds_hooks_prefetch_values_never_answer_5xx(server: LiveServer, name: str, value: bytes) -> None:
    for key in ("conditions", "patient"):
        raw = _hook_with(key, value)
        r = timed(
            "cds-prefetch",
            f"{key}: {name}",
            lambda raw=raw: httpx.post(
                f"{server.url}/cds-services/{PV}", content=raw, headers=JSON, timeout=120
            ),
        )
        if r.status_code == 200:
            assert isinstance(r.json()["cards"], list)


def test_cds_hooks_context_and_envelope_junk_never_answer_5xx(server: LiveServer) -> None:
    base = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/dr-1", "patientId": "pt-ssc"},
        "prefetch": F.prefetch(F.ssc_calcinosis()),
    }
    variants: dict[str, object] = {
        "patientId with a slash": {**base, "context": {"userId": "u", "patientId": "../../etc/passwd"}},
        "patientId of 10,000 characters": {**base, "context": {"userId": "u", "patientId": "p" * 10_000}},
        "patientId not the Patient": {**base, "context": {"userId": "u", "patientId": "someone-else"}},
        "context a list": {**base, "context": []},
        "hook of another service": {**base, "hook": "order-sign"},
        "fhirServer off loopback over http": {**base, "prefetch": None, "fhirServer": "http://10.0.0.1/fhir"},
        "fhirServer not a URL": {**base, "prefetch": None, "fhirServer": "javascript:alert(1)"},
        "fhirAuthorization without fhirServer": {
            **base,
            "fhirAuthorization": {
                "access_token": "x",
                "token_type": "Bearer",
                "expires_in": 1,
                "scope": "s",
                "subject": "s",
            },
        },
        "draftOrders junk": {
            **base,
            "hook": "order-sign",
            "context": {
                "userId": "u",
                "patientId": "pt-ssc",
                "draftOrders": {"resourceType": "Bundle", "entry": "x"},
            },
        },
        "prefetch a string": {**base, "prefetch": "all of it"},
        "prefetch OperationOutcome everywhere": {
            **base,
            "prefetch": {k: {"resourceType": "OperationOutcome"} for k in base["prefetch"]},
        },
    }
    for name, body in variants.items():
        service = SIGN if "draftOrders" in name else PV
        timed(
            "cds-envelope",
            name,
            lambda b=body, s=service: httpx.post(f"{server.url}/cds-services/{s}", json=b, timeout=60),
        )


@pytest.mark.parametrize(("name", "body"), BODIES, ids=IDS)
def test_web_upload_never_answers_5xx(server: LiveServer, name: str, body: bytes) -> None:
    r = timed(
        "web-upload",
        name,
        lambda: httpx.post(f"{server.url}/assess/upload", files={"file": ("case.json", body)}, timeout=120),
    )
    assert "Traceback" not in r.text


def test_web_form_junk_never_answers_5xx(server: LiveServer) -> None:
    forms: dict[str, bytes] = {
        "invalid UTF-8 value": b"age=%ED%A0%80&sex=female",
        "invalid UTF-8 name": b"%C0%AF=1&age=40",
        "NUL in text": b"other_conditions=ssc%00esrd&age=40",
        "overlong text": b"notes=" + b"x" * 100_000,
        "age as text": b"age=sixty",
        "age huge": b"age=1e308",
        "age NaN": b"age=NaN",
        "date in 9999": b"as_of=9999-12-31&age=40",
        "10,000 fields": b"&".join(b"f%d=1" % i for i in range(10_000)),
        "repeated field": b"&".join([b"conditions=ssc"] * 5_000),
        "not urlencoded": b"\x00\x01\x02\xff",
    }
    for name, body in forms.items():
        timed(
            "web-form",
            name,
            lambda b=body: httpx.post(
                f"{server.url}/assess/form",
                content=b,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                timeout=60,
            ),
        )
    for name, body in (("multipart garbage", b"--x\r\nnonsense"), ("plan.pdf junk", b"input=%ED%A0%80")):
        path = "/plan.pdf" if "pdf" in name else "/assess/upload"
        ctype = "application/x-www-form-urlencoded" if "pdf" in name else "multipart/form-data; boundary=x"
        timed(
            "web-form",
            name,
            lambda b=body, p=path, c=ctype: httpx.post(
                f"{server.url}{p}", content=b, headers={"Content-Type": c}, timeout=60
            ),
        )


def test_bad_authorization_headers_get_a_bare_401(trusted: TrustedServer) -> None:
    url = f"{trusted.url}/cds-services/{PV}"
    good = trusted.key.token(ISSUER, url)
    junk: dict[str, list[tuple[bytes, bytes]]] = {
        "none": [],
        "empty": [(b"authorization", b"")],
        "Bearer only": [(b"authorization", b"Bearer")],
        "Bearer and spaces": [(b"authorization", b"Bearer      x")],
        "token of 100 KB": [(b"authorization", b"Bearer " + b"a" * 100_000)],
        "three dots": [(b"authorization", b"Bearer ...")],
        "latin-1 bytes": [(b"authorization", b"Bearer \xe9\xe9\xe9.\xff.\xfe")],
        "base64 of junk": [(b"authorization", b"Bearer eyJhbGciOiJub25lIn0.eyJ9.")],
        "header is JSON": [(b"authorization", b'Bearer {"alg":"none"}')],
        "two headers": [(b"authorization", f"Bearer {good}".encode())] * 2,
        "lower-case scheme and tabs": [(b"authorization", b"bearer\t" + good.encode())],
        "Basic": [(b"authorization", b"Basic dXNlcjpwYXNz")],
    }
    body = orjson.dumps({"hook": "patient-view", "hookInstance": "x", "context": {}})
    for name, headers in junk.items():
        r = timed(
            "auth",
            name,
            lambda h=headers: httpx.post(
                url, content=body, headers=[(b"content-type", b"application/json"), *h], timeout=60
            ),
        )
        assert (r.status_code, r.content) == (401, b""), name
    no_traceback(trusted)


def _raw(server: LiveServer, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


def test_malformed_http_never_gets_a_5xx(server: LiveServer) -> None:
    host = f"Host: 127.0.0.1:{server.port}\r\n".encode()
    requests = {
        "garbage request line": b"HELLO\r\n\r\n",
        "HTTP/0.9": b"GET /health\r\n\r\n",
        "bad Content-Length": b"POST /assess HTTP/1.1\r\n" + host + b"Content-Length: abc\r\n\r\n{}",
        "negative Content-Length": b"POST /assess HTTP/1.1\r\n" + host + b"Content-Length: -5\r\n\r\n{}",
        "Content-Length too short": b"POST /assess HTTP/1.1\r\n"
        + host
        + b'Content-Type: application/json\r\nContent-Length: 3\r\n\r\n{"age_years": 40}',
        "bad chunk size": b"POST /assess HTTP/1.1\r\n"
        + host
        + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        "chunked over the byte limit": b"POST /assess HTTP/1.1\r\n"
        + host
        + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"".join(b"100000\r\n" + b" " * 0x100000 + b"\r\n" for _ in range(3))
        + b"0\r\n\r\n",
        "both Content-Length and chunked": b"POST /assess HTTP/1.1\r\n"
        + host
        + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "header of 100 KB": b"GET /health HTTP/1.1\r\n" + host + b"X-Junk: " + b"a" * 100_000 + b"\r\n\r\n",
        "NUL in a header": b"GET /health HTTP/1.1\r\n" + host + b"X-Junk: a\x00b\r\n\r\n",
        "path of 50 KB": b"GET /" + b"a" * 50_000 + b" HTTP/1.1\r\n" + host + b"\r\n",
        "percent junk in the path": b"GET /therapies/%ED%A0%80%00 HTTP/1.1\r\n" + host + b"\r\n",
        "query junk": b"POST /assess?as_of=9999-99-99&as_of=%00 HTTP/1.1\r\n"
        + host
        + b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    }
    for name, request in requests.items():
        start = time.monotonic()
        answer = _raw(server, request)
        status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
        record("raw-http", name, status, time.monotonic() - start)
        assert not 500 <= status < 600, (name, answer[:300])


CLI_CASES = [
    c
    for c in BODIES
    if c[0]
    in {
        "empty",
        "NaN",
        "duplicate key",
        "arrays nested 1020",
        "lone high surrogate escape",
        "overlong slash",
        "NUL escape",
        "native as_of 9999, born 1960",
        "fhir everything in 9999",
        "20,000 native conditions",
        "20,000 FHIR entries",
        "one text of 10,001 characters",
        "bundle entry of nulls",
        "binary",
        "utf-16",
    }
]


@pytest.mark.parametrize(("name", "body"), CLI_CASES, ids=[n for n, _ in CLI_CASES])
def test_cli_assess_prints_one_line_never_a_traceback(tmp_path: Path, name: str, body: bytes) -> None:
    path = tmp_path / "input.json"
    path.write_bytes(body)
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "calcinosis", "assess", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        env=clean_environ(),
        timeout=300,
    )
    record("cli", name, done.returncode, time.monotonic() - start)
    assert "Traceback" not in done.stderr
    assert done.returncode in (0, 2), (name, done.returncode, done.stderr[-500:])
    if done.returncode == 2:
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr[-500:]


def test_the_server_logged_no_traceback_and_still_answers(server: LiveServer) -> None:
    """Last: after everything above, the server is healthy and its log holds no traceback and no 500."""
    assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200
    no_traceback(server)
