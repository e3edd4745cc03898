"""CDS client authentication per the CDS Hooks 2.0 security section and its best practices.

Checks, in order: an ``Authorization: Bearer`` JWT; header ``typ`` JWT, an asymmetric ``alg`` (never
``none`` or HMAC) and a ``kid``; ``iss`` on the allow-list; ``jku`` (if present) on the allow-list; the key
found by ``kid`` in that JWKS; the signature; ``aud`` equal to the endpoint called; ``exp``/``iat`` present,
current and within the maximum lifetime; ``jti`` not seen before within the token's lifetime.
Any failure raises :class:`AuthError` and becomes a bare 401. Tokens are never logged.
"""

from __future__ import annotations

import heapq
import ipaddress
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from calcinosis.errors import AuthError
from calcinosis.server.jwks import KeyRing
from calcinosis.settings import Settings

log = logging.getLogger("calcinosis.server.security")

ALLOWED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)
MAX_TOKEN_BYTES = 16_384


@dataclass(frozen=True)
class Caller:
    """Who called: a verified issuer, or an unsigned loopback client (development mode)."""

    iss: str | None
    client: str | None
    tenant: str | None = None
    signed: bool = True


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class ReplayCache:
    """``(iss, jti)`` pairs seen, each kept until its token expires."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], float] = {}
        self._expiry: list[tuple[float, tuple[str, str]]] = []

    def first_use(self, iss: str, jti: str, expires_at: float, now: float) -> bool:
        while self._expiry and self._expiry[0][0] < now:
            _, key = heapq.heappop(self._expiry)
            if self._seen.get(key, now + 1) < now:
                del self._seen[key]
        key = (iss, jti)
        if key in self._seen:
            return False
        self._seen[key] = expires_at
        heapq.heappush(self._expiry, (expires_at, key))
        return True

    def __len__(self) -> int:
        return len(self._seen)


class SharedReplayCache:
    """The same contract kept in a SQLite file, so that several worker processes share one memory of
    ``jti``s (a token replayed to another worker is still refused). Not durable across a crash: as with
    the in-memory cache, what matters is the tokens' short lifetime."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, timeout=10, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=OFF")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS seen (iss TEXT, jti TEXT, exp REAL, PRIMARY KEY (iss, jti))"
        )
        self._lock = threading.Lock()
        self._writes = 0

    def first_use(self, iss: str, jti: str, expires_at: float, now: float) -> bool:
        with self._lock:
            self._writes += 1
            if self._writes % 500 == 0:
                self._conn.execute("DELETE FROM seen WHERE exp < ?", (now,))
            try:
                self._conn.execute(
                    "INSERT INTO seen (iss, jti, exp) VALUES (?, ?, ?)", (iss, jti, expires_at)
                )
            except sqlite3.IntegrityError:
                row = self._conn.execute(
                    "SELECT exp FROM seen WHERE iss = ? AND jti = ?", (iss, jti)
                ).fetchone()
                if row is not None and row[0] < now:  # expired entry not yet purged: a new use
                    self._conn.execute(
                        "UPDATE seen SET exp = ? WHERE iss = ? AND jti = ?", (expires_at, iss, jti)
                    )
                    return True
                return False
            return True


class TokenVerifier:
    def __init__(self, settings: Settings, keys: KeyRing) -> None:
        self.trusted = dict(settings.trusted_issuers)
        self.allowed_jku = frozenset(settings.allowed_jku)
        self.skew = settings.clock_skew_s
        self.max_lifetime = settings.max_token_lifetime_s
        self.keys = keys
        self.replay: ReplayCache | SharedReplayCache = (
            SharedReplayCache(settings.data_dir / "jti-replay.db") if settings.workers > 1 else ReplayCache()
        )

    @property
    def open_to_loopback(self) -> bool:
        """No trusted issuer configured: unsigned calls are accepted from loopback clients only."""
        return not self.trusted

    async def caller(self, authorization: str | None, audience: str, client_host: str | None) -> Caller:
        if self.open_to_loopback:
            if is_loopback(client_host):
                return Caller(iss=None, client="loopback (unsigned)", signed=False)
            raise AuthError("unsigned call from a non-loopback client")
        try:
            return await self._verify(authorization, audience)
        except AuthError as exc:
            log.info("cds-hooks: caller refused (%s)", exc)
            raise

    async def _verify(self, authorization: str | None, audience: str) -> Caller:
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_BYTES:
            raise AuthError("no bearer token")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise AuthError("malformed token") from exc
        alg, kid, typ, jku = (header.get(k) for k in ("alg", "kid", "typ", "jku"))
        if alg not in ALLOWED_ALGORITHMS:
            raise AuthError("algorithm not allowed")
        if not isinstance(typ, str) or typ.upper() != "JWT" or not isinstance(kid, str) or not kid:
            raise AuthError("header incomplete")
        iss = unverified.get("iss")
        if not isinstance(iss, str) or iss not in self.trusted:
            raise AuthError("issuer not trusted")
        location = self.trusted[iss]
        if jku is not None:
            if not isinstance(jku, str) or (jku != location and jku not in self.allowed_jku):
                raise AuthError("jku not allowed")
            location = jku
        key = await self.keys.key(location, kid)
        if key is None:
            raise AuthError("unknown key")
        if not key.fits(alg):
            raise AuthError("key does not fit the algorithm")
        claims = self._decode(token, key.key, alg, audience, iss)
        return Caller(
            iss=iss,
            client=_text(claims.get("sub")),
            tenant=_text(claims.get("tenant")),
        )

    def _decode(self, token: str, key: Any, alg: str, audience: str, iss: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=audience,
                issuer=iss,
                leeway=self.skew,
                options={"require": ["iss", "aud", "exp", "iat", "jti"], "verify_nbf": True},
            )
        except jwt.PyJWTError as exc:
            raise AuthError(f"token invalid ({type(exc).__name__})") from exc
        now = time.time()
        exp, iat, jti = claims["exp"], claims["iat"], claims["jti"]
        if (
            not isinstance(jti, str)
            or not jti
            or not isinstance(iat, int | float)
            or not isinstance(exp, int | float)
        ):
            raise AuthError("claims malformed")
        if iat > now + self.skew:
            raise AuthError("issued in the future")
        if exp - iat > self.max_lifetime or now - iat > self.max_lifetime + self.skew:
            raise AuthError("lifetime too long")
        if not self.replay.first_use(iss, jti, float(exp) + self.skew, now):
            raise AuthError("token replayed")
        return claims


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
