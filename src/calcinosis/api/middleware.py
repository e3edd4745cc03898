"""Pure ASGI middleware: a request body size limit (413) and an access log without identifiers.

The access log names the route template (``/therapies/{therapy_id}``), never the raw path or query, so
patient identifiers and tokens cannot reach a log line.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from typing import Any

import orjson
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from calcinosis.api.outcome import FHIR_JSON, RETRY_AFTER_S, outcome_body

log = logging.getLogger("calcinosis.access")


class TooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.message = (
            f"request body larger than {max_bytes} bytes (limit CALCINOSIS_MAX_BODY_BYTES={max_bytes})"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                too_big = True
            if too_big:
                await _reject(send, 413, self.message)
                return
        seen = 0
        started = False

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, tracking_send)
        except TooLarge:
            if not started:
                await _reject(send, 413, self.message)


async def _reject(
    send: Send, status: int, message: str, code: str = "too-long", *, retry_after: bool = False
) -> None:
    body = orjson.dumps(outcome_body(message, code))
    headers = [(b"content-type", FHIR_JSON.encode()), (b"content-length", str(len(body)).encode())]
    if retry_after:
        headers.append((b"retry-after", str(RETRY_AFTER_S).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class CatchAll:
    """The last line of defence: an unexpected exception becomes a 500 OperationOutcome and one log line
    naming its type and where it was raised, never its message (which could hold patient data) and
    without re-raising (so the server does not log a traceback either)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:  # the client went away mid-body: nobody to answer, nothing went wrong here
            log.info("client disconnected before its request was read")
        except asyncio.CancelledError:
            # The server is stopping and its graceful timeout ran out (uvicorn cancels the requests still
            # running): answer 503 rather than let the server log a traceback and send a 500.
            log.warning("request cancelled: the server is stopping")
            if not started:
                await _reject(send, 503, "the service is stopping; try again", "transient", retry_after=True)
        except Exception as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
            where = f"{frame.filename}:{frame.lineno}" if frame else "?"
            log.error("unexpected %s at %s", type(exc).__name__, where)
            if not started:
                body = orjson.dumps(outcome_body("internal error", "exception"))
                await send(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", FHIR_JSON.encode()),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})


class AccessLog:
    """One log line per request, and the server-side time as a ``Server-Timing`` response header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status: dict[str, Any] = {"code": 0}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                took = (time.perf_counter() - start) * 1000
                headers = [*message.get("headers", []), (b"server-timing", f"app;dur={took:.2f}".encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "(unrouted)"
            log.info(
                "%s %s %s %.1fms",
                scope.get("method"),
                template,
                status["code"] or "aborted",
                (time.perf_counter() - start) * 1000,
            )
