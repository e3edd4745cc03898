"""The ASGI edge: an unexpected error is a 500 OperationOutcome logged without its message; body limit."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from calcinosis.api.middleware import BodyLimit, CatchAll


async def _crash(scope: Scope, receive: Receive, send: Send) -> None:
    raise KeyError("patient pt-secret-99 birthDate 1961-02-03")


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(len(body)).encode()})


def _request(app: object, method: str = "GET", content: bytes | None = None) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.request(method, "/x", content=content)

    # A thread of its own: another test's browser may already run an event loop in this one.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


def test_unexpected_error_is_a_500_outcome_logged_without_its_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="calcinosis.access"):
        r = _request(CatchAll(_crash))
    assert r.status_code == 500
    assert r.json()["resourceType"] == "OperationOutcome"
    assert "pt-secret-99" not in r.text
    assert "unexpected KeyError at" in caplog.text
    assert "pt-secret-99" not in caplog.text and "1961" not in caplog.text


def test_body_limit_refuses_declared_and_streamed_bodies_when_too_large() -> None:
    app = BodyLimit(_echo, max_bytes=1000)
    assert _request(app, "POST", b"x" * 999).text == "999"
    declared = _request(app, "POST", b"x" * 1001)
    assert declared.status_code == 413 and declared.json()["issue"][0]["code"] == "too-long"
