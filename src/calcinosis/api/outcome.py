"""Errors as FHIR OperationOutcome (4xx; a 5xx only for our own faults, never with a traceback).

Authentication failures are the exception: a bare 401 that says nothing about which check failed.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from calcinosis.errors import AuthError, CalcinosisError, PackError, StoreError

log = logging.getLogger("calcinosis.api")

FHIR_JSON = "application/fhir+json"
RETRY_AFTER_S = 5  # Retry-After on a 503 while the store is away
ISSUE_CODE = {
    400: "invalid",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    412: "not-found",
    413: "too-long",
    415: "not-supported",
    422: "invalid",
    500: "exception",
    503: "transient",
}


def outcome_body(message: str, code: str = "invalid", severity: str = "error") -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": message}],
    }


def outcome(status: int, message: str, code: str | None = None) -> JSONResponse:
    return JSONResponse(
        outcome_body(message, code or ISSUE_CODE.get(status, "processing")), status, media_type=FHIR_JSON
    )


def bare_401() -> Response:
    return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})


def _is_json(request: Request) -> bool:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return ctype == "" or ctype == "application/json" or ctype.endswith("+json")


async def _calcinosis(_: Request, exc: Exception) -> Response:
    if isinstance(exc, AuthError):
        return bare_401()
    assert isinstance(exc, CalcinosisError)  # noqa: S101 - registered for this class only
    if isinstance(exc, StoreError | PackError):
        log.error("service fault: %s", exc)
    if isinstance(exc, StoreError):  # the store is away: nothing was acknowledged; try again shortly
        response = outcome(503, f"{exc}; nothing was recorded, try again", "transient")
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response
    code = exc.code if exc.code != "error" else None
    return outcome(exc.http_status, str(exc), code)


async def _validation(request: Request, exc: Exception) -> Response:
    if not _is_json(request):
        return outcome(415, "the body must be JSON (application/json or application/fhir+json)")
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    loc = ".".join(str(p) for p in first.get("loc", ()))
    return outcome(400, f"{loc}: {first.get('msg', 'invalid')}" if loc else str(first.get("msg")))


async def _http(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    if exc.status_code == 401:
        return bare_401()
    response = outcome(exc.status_code, str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def install(app: FastAPI) -> None:
    app.add_exception_handler(CalcinosisError, _calcinosis)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
