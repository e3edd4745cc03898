"""SMART App Launch pages, mounted with the clinician pages.

- ``GET /launch?iss=…&launch=…``: EHR launch (the launch URL an EHR registers);
- ``GET /launch/standalone[?iss=…]``: standalone launch (the EHR asks for the patient);
- ``GET /smart/callback``: the redirect URL (``code`` and ``state`` come back here);
- ``GET /smart/record/{handle}``: the result page for the live record, ``POST …/refresh`` reads it again;
- ``POST /smart/logout``: ends the session (its tokens are dropped);
- ``GET /.well-known/jwks.json``: the confidential client's public key set.

Tokens stay in the server-side session; the browser holds only a random session id in an HttpOnly cookie.
Every failure is a readable page with a way back.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from calcinosis.errors import InputError, NotFoundError
from calcinosis.server.state import AppState, StateDep, base_url
from calcinosis.smart import service
from calcinosis.smart.discovery import allowed_iss
from calcinosis.smart.errors import LaunchRefused, NotConfigured, SessionEnded, SmartError
from calcinosis.smart.runtime import SmartRuntime
from calcinosis.smart.scopes import LaunchKind, requested_scopes
from calcinosis.smart.sessions import COOKIE, Launch, Session
from calcinosis.web.render import page
from calcinosis.web.views import _result_page as result_page  # the one result page, with the read report

router = APIRouter(include_in_schema=False)
log = logging.getLogger("calcinosis.smart")

Param = Annotated[str | None, Query(max_length=2048)]
Handle = Annotated[str, Path(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
NOT_CONFIGURED = (
    "This service has no SMART client id, so it cannot be launched from an EHR. An administrator sets "
    "CALCINOSIS_SMART_CLIENT_ID and CALCINOSIS_SMART_ALLOWED_ISS (see docs/smart.md)."
)
STALE = (
    "This EHR session has ended: it expired, you signed out, or it was started in another browser. Launch the "
    "app again from the patient's record in the EHR."
)


def runtime(request: Request) -> SmartRuntime:
    rt: SmartRuntime = request.app.state.smart
    if not rt.enabled:
        raise NotConfigured(NOT_CONFIGURED)
    return rt


def _https(request: Request, state: AppState) -> bool:
    return base_url(request, state.settings).startswith("https://")


def _with_cookie(
    response: Response, request: Request, state: AppState, session: Session, rt: SmartRuntime
) -> Response:
    response.set_cookie(
        COOKIE,
        session.sid,
        max_age=int(rt.sessions.ttl_s),
        path="/",
        httponly=True,
        secure=_https(request, state),
        samesite="lax",
    )
    return response


def _session(request: Request, rt: SmartRuntime) -> Session | None:
    return rt.sessions.get(request.cookies.get(COOKIE))


def error_page(request: Request, exc: SmartError, *, retry: str | None = None) -> HTMLResponse:
    context = {"status": exc.status, "message": exc.message, "title": exc.title, "retry": retry}
    response = page(request, "smart_error.html", context, status=exc.status, private=True)
    response.headers.update(NO_STORE)
    return response


def unexpected(request: Request, exc: Exception) -> HTMLResponse:
    log.error("smart launch failed: unexpected %s", type(exc).__name__)
    message = "Something went wrong while reading the record from the EHR. Nothing was recorded."
    return error_page(request, SmartError(message, status=500))


def _retry_url(kind: str, iss: str | None) -> str | None:
    return f"/launch/standalone?iss={iss}" if kind == "standalone" and iss else None


async def _start(
    request: Request, state: AppState, *, iss: str | None, launch: str | None, kind: LaunchKind
) -> Response:
    try:
        rt = runtime(request)
        if kind == "ehr" and not launch:
            raise LaunchRefused(
                "The launch from the EHR has no `launch` parameter, so it cannot be completed."
            )
        allowed_iss(iss, rt.allowed_iss)  # refused before a session is made or anything fetched
        existing = _session(request, rt)
        session = existing or rt.sessions.create()
        try:
            url = await service.begin(
                state, rt, session, iss=iss, launch=launch, kind=kind, base=base_url(request, state.settings)
            )
        except SmartError:
            if existing is None:
                rt.sessions.end(session.sid)
            raise
    except SmartError as exc:
        return error_page(request, exc)
    response = RedirectResponse(url, status_code=302, headers=NO_STORE)
    return _with_cookie(response, request, state, session, rt)


@router.get("/launch")
async def ehr_launch(request: Request, state: StateDep, iss: Param = None, launch: Param = None) -> Response:
    """EHR launch: the EHR opens this URL with its FHIR base (``iss``) and an opaque ``launch`` id."""
    return await _start(request, state, iss=iss, launch=launch, kind="ehr")


@router.get("/launch/standalone")
async def standalone_launch(request: Request, state: StateDep, iss: Param = None) -> Response:
    """Standalone launch: the clinician starts here and the EHR asks which patient (``launch/patient``)."""
    try:
        rt = runtime(request)
    except SmartError as exc:
        return error_page(request, exc)
    if not iss and len(rt.allowed_iss) != 1:
        context = {
            "title": "Open a patient from an EHR",
            "issuers": rt.allowed_iss,
            "scopes": requested_scopes("standalone"),
        }
        return page(request, "smart_choose.html", context, private=True)
    return await _start(request, state, iss=iss or rt.allowed_iss[0], launch=None, kind="standalone")


@router.get("/smart/callback")
async def callback(
    request: Request,
    state: StateDep,
    code: Param = None,
    state_: Annotated[str | None, Query(alias="state", max_length=512)] = None,
    error: Param = None,
    error_description: Param = None,
) -> Response:
    """The redirect URL: the EHR sends the browser back with ``code`` and ``state`` (or an error)."""
    pending = None
    try:
        rt = runtime(request)
        session = _session(request, rt)
        pending = session.take_pending(state_) if session else None
        if session is None or pending is None:
            raise LaunchRefused(
                "The answer from the EHR does not match a launch started in this browser (the `state` is "
                "unknown, already used or expired), so it was not used. Launch the app again from the EHR."
            )
        if error:
            detail = f" ({error_description[:300]})" if error_description else ""
            raise LaunchRefused(f"The EHR did not authorize the app: {error[:100]}{detail}.", status=403)
        if not code:
            raise LaunchRefused("The EHR sent the browser back without an authorization code.")
        launch = await service.complete(state, rt, session, pending, code)
    except SmartError as exc:
        retry = _retry_url(pending.kind, pending.iss) if pending else None
        return error_page(request, exc, retry=retry)
    except InputError as exc:
        return error_page(
            request, SmartError(f"The record read from the EHR could not be assessed: {exc}", status=422)
        )
    except Exception as exc:  # the last line: a page, never a traceback (the log names only the type)
        return unexpected(request, exc)
    anchor = f"#{launch.focus}" if launch.focus else ""
    return RedirectResponse(f"/smart/record/{launch.handle}{anchor}", status_code=303, headers=NO_STORE)


def _launch(request: Request, handle: str) -> tuple[SmartRuntime, Session, Launch]:
    rt = runtime(request)
    session = _session(request, rt)
    found = session.launch(handle) if session else None
    if session is None or found is None:
        raise SessionEnded(STALE)
    return rt, session, found


@router.get("/smart/record/{handle}", response_class=HTMLResponse)
async def record_page(handle: Handle, request: Request) -> HTMLResponse:
    """The result page for the live record, with what was read and what could not be."""
    try:
        _, _, launch = _launch(request, handle)
    except SmartError as exc:
        return error_page(request, exc)
    result: service.LiveResult = launch.result
    report = result.report
    who = f", launched by {launch.fhir_user}" if launch.fhir_user else ""
    response = result_page(
        request,
        result.assessment,
        result.raw,
        f"the EHR record at {launch.iss}{who}",
        native=False,
        generated=report.read_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        title="Assessment of the EHR record",
        live={"launch": launch, "report": report},
    )
    response.headers.update(NO_STORE)
    return response


@router.post("/smart/record/{handle}/refresh")
async def refresh(handle: Handle, request: Request, state: StateDep) -> Response:
    """Read the record from the EHR again (the token is renewed first when it has expired and can be)."""
    try:
        rt, session, launch = _launch(request, handle)
        try:
            launch.result = await service.read_and_assess(state, rt, launch)
        except SessionEnded:
            session.launches.pop(launch.handle, None)
            raise
    except SmartError as exc:
        return error_page(request, exc)
    except InputError as exc:
        return error_page(
            request, SmartError(f"The record read from the EHR could not be assessed: {exc}", status=422)
        )
    except Exception as exc:  # the last line: a page, never a traceback (the log names only the type)
        return unexpected(request, exc)
    return RedirectResponse(f"/smart/record/{handle}", status_code=303, headers=NO_STORE)


@router.post("/smart/logout", response_class=HTMLResponse)
async def logout(request: Request, state: StateDep) -> HTMLResponse:
    """End this browser's SMART session: its tokens and the records read are dropped from the server."""
    rt: SmartRuntime = request.app.state.smart
    ended = rt.sessions.end(request.cookies.get(COOKIE))
    response = page(request, "smart_signed_out.html", {"title": "Signed out", "ended": ended}, private=True)
    response.delete_cookie(COOKIE, path="/", httponly=True, secure=_https(request, state), samesite="lax")
    return response


@router.get("/.well-known/jwks.json")
async def jwks(request: Request) -> Response:
    """The public key set an EHR registers for this app's ``private_key_jwt`` client authentication."""
    rt: SmartRuntime = request.app.state.smart
    if rt.key is None:
        raise NotFoundError("this service has no client key (it is registered as a public SMART client)")
    body = {"keys": [rt.key.public_jwk()]}
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=3600"})
