"""Launch sessions, kept in this process only: tokens never leave the server.

A browser holds one random session id in an ``HttpOnly`` cookie; the session holds the authorizations in
flight (``state`` and PKCE verifier) and the launches made (token, patient, what was read). A launch is
picked by a random handle in the page URL, so two tabs on two patients never mix. Sessions expire; logout
ends one at once.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from calcinosis.smart.discovery import SmartConfiguration
from calcinosis.smart.scopes import LaunchKind

COOKIE = "calcinosis_smart"
MAX_SESSIONS = 5000
MAX_PENDING = 8  # authorizations in flight per browser session
MAX_LAUNCHES = 8
PENDING_TTL_S = 600.0  # an authorization not completed within ten minutes is dropped


@dataclass
class Pending:
    """An authorization request sent to the EHR, waiting for the browser to come back with a code."""

    state: str
    verifier: str
    iss: str
    kind: LaunchKind
    config: SmartConfiguration
    redirect_uri: str
    scopes: tuple[str, ...]
    created: float = field(default_factory=time.monotonic)


@dataclass
class Launch:
    """An authorized launch: the token (server-side only), its patient, and the last read of the record."""

    handle: str
    iss: str
    kind: LaunchKind
    config: SmartConfiguration
    token: dict[str, Any]
    patient: str
    fhir_user: str | None
    granted: tuple[str, ...]
    focus: str | None = None
    result: Any = None  # calcinosis.smart.service.LiveResult, set after each read
    created: float = field(default_factory=time.monotonic)


@dataclass
class Session:
    sid: str
    expires: float
    pending: dict[str, Pending] = field(default_factory=dict)
    launches: dict[str, Launch] = field(default_factory=dict)

    def take_pending(self, state: str | None) -> Pending | None:
        """The authorization this ``state`` belongs to, removed (a state is used once), else None."""
        if not state:
            return None
        now = time.monotonic()
        for key in list(self.pending):
            if now - self.pending[key].created > PENDING_TTL_S:
                del self.pending[key]
        for key, pending in self.pending.items():
            if hmac.compare_digest(key.encode(), state.encode()):
                del self.pending[key]
                return pending
        return None

    def add_pending(self, pending: Pending) -> None:
        while len(self.pending) >= MAX_PENDING:
            del self.pending[next(iter(self.pending))]
        self.pending[pending.state] = pending

    def add_launch(self, launch: Launch) -> None:
        while len(self.launches) >= MAX_LAUNCHES:
            del self.launches[next(iter(self.launches))]
        self.launches[launch.handle] = launch

    def launch(self, handle: str) -> Launch | None:
        for key, launch in self.launches.items():
            if hmac.compare_digest(key.encode(), handle.encode()):
                return launch
        return None


class SessionTable:
    """Sessions by id, each with an absolute expiry."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._sessions: dict[str, Session] = {}

    def _sweep(self) -> None:
        now = time.monotonic()
        for sid in [s for s, v in self._sessions.items() if v.expires <= now]:
            del self._sessions[sid]

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        found = self._sessions.get(sid)
        if found is None or found.expires <= time.monotonic():
            self._sessions.pop(sid, None)
            return None
        return found

    def create(self) -> Session:
        self._sweep()
        while len(self._sessions) >= MAX_SESSIONS:  # full: drop sessions with no launch first, oldest first
            del self._sessions[
                min(
                    self._sessions,
                    key=lambda s: (bool(self._sessions[s].launches), self._sessions[s].expires),
                )
            ]
        session = Session(secrets.token_urlsafe(32), time.monotonic() + self.ttl_s)
        self._sessions[session.sid] = session
        return session

    def end(self, sid: str | None) -> bool:
        return self._sessions.pop(sid, None) is not None if sid else False

    def __len__(self) -> int:
        self._sweep()
        return len(self._sessions)


def new_handle() -> str:
    return secrets.token_urlsafe(12)
