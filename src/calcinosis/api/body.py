"""Request bodies read at the edge: JSON only, decoded strictly within the limits, then validated.

Routes that take JSON read it here instead of letting the framework parse it, so that every body passes
through :func:`calcinosis.limits.decode_strict` (depth, size, counts, text length, strict Unicode).
"""

from __future__ import annotations

from typing import Any, TypeVar

import anyio
from fastapi import Request
from pydantic import BaseModel, ValidationError

from calcinosis.errors import InputError
from calcinosis.limits import LimitExceeded, Limits, decode_strict

M = TypeVar("M", bound=BaseModel)
IN_THREAD_BYTES = 64 * 1024  # decode larger bodies off the event loop


class MalformedRequest(InputError):
    """A request body that is not the documented shape (HTTP 400)."""

    http_status = 400


class UnsupportedMedia(InputError):
    http_status = 415
    code = "not-supported"


def check_json_type(request: Request) -> None:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype and ctype != "application/json" and not ctype.endswith("+json"):
        raise UnsupportedMedia("the body must be JSON (application/json or application/fhir+json)")


async def json_body(request: Request, limits: Limits, *, fhir: bool = False) -> Any:
    """The decoded body. Malformed JSON is a 400 here (a request, not patient input); limits 413/422."""
    check_json_type(request)
    raw = await request.body()
    if not raw.strip():
        raise MalformedRequest("body: empty")
    try:
        if len(raw) > IN_THREAD_BYTES:
            return await anyio.to_thread.run_sync(_decode, raw, limits, fhir)
        return _decode(raw, limits, fhir)
    except LimitExceeded:
        raise
    except InputError as exc:
        raise MalformedRequest(str(exc)) from None


def _decode(raw: bytes, limits: Limits, fhir: bool) -> Any:
    return decode_strict(raw, limits, "body", fhir=fhir)


def validated(model: type[M], data: Any) -> M:
    """``data`` as ``model``; the first error named by its place in the body (HTTP 400)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise MalformedRequest(f"body{'.' + loc if loc else ''}: {err['msg']}") from None
