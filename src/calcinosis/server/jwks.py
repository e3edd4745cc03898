"""Public keys of trusted CDS clients: JWKS from a URL or a file, cached, refreshed on an unknown ``kid``
at most once per interval per source.

Only JWKS locations on the allow-list are ever fetched: each trusted issuer's own, plus the allowed
``jku`` URLs. A key must be asymmetric (RSA, EC or OKP); shared-secret (``oct``) keys are ignored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from jwt import PyJWK
from jwt.exceptions import PyJWKError

log = logging.getLogger("calcinosis.server.jwks")

ASYMMETRIC_KTY = frozenset({"RSA", "EC", "OKP"})


def is_url(location: str) -> bool:
    return location.startswith(("https://", "http://"))


@dataclass(frozen=True)
class PublicKey:
    key: Any
    kty: str
    alg: str | None

    def fits(self, alg: str) -> bool:
        """The key's type suits the algorithm, and the key's own ``alg`` (if declared) is that algorithm."""
        family = {"RS": "RSA", "PS": "RSA", "ES": "EC"}.get(alg[:2])
        return family == self.kty and self.alg in (None, alg)


def parse_jwks(data: Any) -> dict[str, PublicKey]:
    """JWKS JSON -> usable public keys by ``kid`` (keys without a kid, or symmetric keys, are skipped)."""
    keys: dict[str, PublicKey] = {}
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        return keys
    for raw in data["keys"]:
        if (
            not isinstance(raw, dict)
            or raw.get("kty") not in ASYMMETRIC_KTY
            or not isinstance(raw.get("kid"), str)
        ):
            continue
        if raw.get("use") not in (None, "sig") or "d" in raw:
            continue  # not a signing key, or a private key published by mistake
        try:
            alg = raw.get("alg") if isinstance(raw.get("alg"), str) else None
            keys[raw["kid"]] = PublicKey(PyJWK(raw).key, raw["kty"], alg)
        except (PyJWKError, ValueError, TypeError):
            log.warning("jwks: key %s could not be read; skipped", raw.get("kid"))
    return keys


@dataclass
class KeySet:
    location: str
    keys: dict[str, PublicKey] = field(default_factory=dict)
    loaded_at: float | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class KeyRing:
    """Keys per JWKS location, fetched lazily."""

    def __init__(self, min_refresh_s: float, http: httpx.AsyncClient, timeout_s: float = 3.0) -> None:
        self._sets: dict[str, KeySet] = {}
        self._min_refresh = min_refresh_s
        self._http = http
        self._timeout = timeout_s

    async def key(self, location: str, kid: str) -> PublicKey | None:
        ks = self._sets.setdefault(location, KeySet(location))
        found = ks.keys.get(kid)
        if found is not None:
            return found
        async with ks.lock:
            found = ks.keys.get(kid)
            if found is not None:
                return found
            now = time.monotonic()
            if ks.loaded_at is not None and now - ks.loaded_at < self._min_refresh:
                return None  # refreshed recently: an unknown kid does not trigger another fetch
            ks.loaded_at = now
            fresh = await self._load(location)
            if fresh is not None:
                ks.keys = fresh
            return ks.keys.get(kid)

    async def _load(self, location: str) -> dict[str, PublicKey] | None:
        try:
            if is_url(location):
                response = await self._http.get(location, timeout=self._timeout)
                response.raise_for_status()
                data = orjson.loads(response.content)
            else:
                data = orjson.loads(await asyncio.to_thread(Path(location).read_bytes))
        except (httpx.HTTPError, OSError, orjson.JSONDecodeError) as exc:
            log.warning("jwks: could not load keys from a trusted location (%s)", type(exc).__name__)
            return None
        return parse_jwks(data)
