"""CSRF protection for the forms that write (the registry forms on the patient page).

Double submit: the page sets a random token in a ``SameSite=Strict``, HttpOnly cookie and puts the same token
in each form; a write is accepted only when the form's token equals the cookie's, and when the browser says
the request came from this origin (``Origin``, when sent and not ``null``, names this site; ``Sec-Fetch-Site``,
when sent, is ``same-origin``; with the pages' ``no-referrer`` policy Chromium sends ``Origin: null`` on a form
post). Another site can make a browser post a form here, but without the cookie and the token.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "calcinosis_csrf"
FIELD = "csrf_token"


def token_for(request: Request) -> str:
    """The browser's token (from its cookie), or a new one to set with :func:`set_cookie`."""
    current = request.cookies.get(COOKIE, "")
    return current if 32 <= len(current) <= 128 else secrets.token_urlsafe(32)


def set_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def same_origin(request: Request) -> bool:
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if (
        origin is None or origin == "null"
    ):  # "null": the pages' no-referrer policy hides it; the token decides
        return True
    own = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
    return origin.rstrip("/") == own


def valid(request: Request, sent: object) -> bool:
    cookie = request.cookies.get(COOKIE, "")
    return (
        isinstance(sent, str)
        and bool(cookie)
        and hmac.compare_digest(sent.encode(), cookie.encode())
        and same_origin(request)
    )
