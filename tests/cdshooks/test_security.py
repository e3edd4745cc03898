"""Caller authentication on a live server that trusts one EHR issuer: the refusal matrix, every refusal
a bare 401, and nothing secret in the log."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives import serialization

from calcinosis.cdshooks.jwks import KeyRing
from calcinosis.cdshooks.security import TokenVerifier
from calcinosis.errors import AuthError
from calcinosis.settings import load_settings
from tests.cdshooks.conftest import ISSUER, PV, TrustedServer, hook_request
from tests.servicekit import fhirdata as F
from tests.servicekit.fhirserver import FhirState, fhir_server
from tests.servicekit.keys import SigningKey, forged, hs256_token, jwks, unsigned_token
from tests.servicekit.server import LiveServer


def _post(url: str, token: str | None, body: Any = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    payload = body if body is not None else hook_request("patient-view", F.ssc_calcinosis(), pid="pt-ssc")
    return httpx.post(url, json=payload, headers=headers, timeout=30)


def test_valid_ehr_tokens_are_accepted_when_signed_by_a_trusted_key(trusted: TrustedServer) -> None:
    discovery = f"{trusted.url}/cds-services"
    r = httpx.get(discovery, headers={"Authorization": f"Bearer {trusted.es.token(ISSUER, discovery)}"})
    assert r.status_code == 200
    url = f"{trusted.url}/cds-services/{PV}"
    assert (
        _post(url, trusted.es.token(ISSUER, url, sub="epic-client", tenant="hospital-1")).status_code == 200
    )
    assert _post(url, trusted.rs.token(ISSUER, [url])).status_code == 200  # RS384, aud as an array


def _matrix(trusted: TrustedServer, url: str) -> dict[str, str | None]:
    es = trusted.es
    stranger = SigningKey.ec("ehr-es384")  # same kid, another key pair
    pem = es.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    return {
        "no token": None,
        "forged signature": forged(es.token(ISSUER, url)),
        "signed by another key with a trusted kid": stranger.token(ISSUER, url),
        "wrong audience": es.token(ISSUER, f"{trusted.url}/cds-services/calcinosis-order-sign"),
        "audience of another host": es.token(ISSUER, url.replace("127.0.0.1", "localhost")),
        "expired": es.token(ISSUER, url, iat=now - 1000, lifetime=300),
        "issued in the future": es.token(ISSUER, url, iat=now + 3600),
        "lifetime too long": es.token(ISSUER, url, lifetime=3 * 3600),
        "unknown issuer": es.token("https://other-ehr.example.test", url),
        "unknown kid": SigningKey.ec("not-in-jwks").token(ISSUER, url),
        "alg none": unsigned_token(ISSUER, url, es.kid),
        "HS256 with the public key as secret": hs256_token(ISSUER, url, es.kid, pem),
        "jku not allowed": es.token(ISSUER, url, headers={"jku": "https://attacker.example.test/jwks.json"}),
        "no jti": es.token(ISSUER, url, drop=("jti",)),
        "no exp": es.token(ISSUER, url, drop=("exp",)),
        "typ not JWT": es.token(ISSUER, url, headers={"typ": "at+jwt"}),
        "garbage": "not.a.jwt",
    }


def test_every_bad_token_gets_a_bare_401_when_presented(trusted: TrustedServer) -> None:
    url = f"{trusted.url}/cds-services/{PV}"
    for name, token in _matrix(trusted, url).items():
        r = _post(url, token)
        assert r.status_code == 401, name
        assert r.content == b"", name
        assert r.headers.get("www-authenticate") == "Bearer", name


def test_a_token_works_once_when_replayed(trusted: TrustedServer) -> None:
    url = f"{trusted.url}/cds-services/{PV}"
    token = trusted.es.token(ISSUER, url)
    assert _post(url, token).status_code == 200
    again = _post(url, token)
    assert (again.status_code, again.content) == (401, b"")


def test_scheme_other_than_bearer_is_refused_when_sent(trusted: TrustedServer) -> None:
    url = f"{trusted.url}/cds-services/{PV}"
    token = trusted.es.token(ISSUER, url)
    r = httpx.post(url, json={}, headers={"Authorization": f"Basic {token}"})
    assert (r.status_code, r.content) == (401, b"")


def test_two_authorization_headers_get_a_bare_401_even_when_each_token_is_valid(
    trusted: TrustedServer, server: LiveServer
) -> None:
    url = f"{trusted.url}/cds-services/{PV}"
    body = orjson.dumps(hook_request("patient-view", F.ssc_calcinosis(), pid="pt-ssc"))
    first, second = (trusted.es.token(ISSUER, url) for _ in range(2))
    for order in ((first, second), (second, first)):
        headers = [("Content-Type", "application/json")] + [("Authorization", f"Bearer {t}") for t in order]
        r = httpx.post(url, content=body, headers=headers, timeout=30)
        assert (r.status_code, r.content, r.headers.get("www-authenticate")) == (401, b"", "Bearer")
    rest = f"{trusted.url}/assess"
    headers = [("Authorization", f"Bearer {trusted.es.token(ISSUER, rest)}")] * 2
    assert (httpx.post(rest, json={"age_years": 40}, headers=headers).status_code) == 401
    # unsigned loopback mode: a second Authorization header is refused too, not ignored
    doubled = [("Authorization", "Bearer a"), ("Authorization", "Bearer b")]
    r = httpx.post(f"{server.url}/cds-services/{PV}", content=body, headers=doubled, timeout=30)
    assert (r.status_code, r.content) == (401, b"")
    assert httpx.get(f"{server.url}/cds-services", headers=doubled).status_code == 401
    assert httpx.post(f"{server.url}/assess", json={"age_years": 40}, headers=doubled).status_code == 401


def test_feedback_and_discovery_also_need_a_token_when_an_issuer_is_trusted(trusted: TrustedServer) -> None:
    assert httpx.get(f"{trusted.url}/cds-services").status_code == 401
    fb = httpx.post(f"{trusted.url}/cds-services/{PV}/feedback", json={"feedback": []})
    assert (fb.status_code, fb.content) == (401, b"")
    assert httpx.post(f"{trusted.url}/assess", json={"age_years": 40}).status_code == 401
    assert httpx.get(f"{trusted.url}/therapies").status_code == 200  # the knowledge itself is public


def test_log_holds_no_token_and_no_patient_id_when_calls_were_made(trusted: TrustedServer) -> None:
    url = f"{trusted.url}/cds-services/{PV}"
    token = trusted.es.token(ISSUER, url)
    body = hook_request("patient-view", F.ssc_calcinosis("pt-secret-4711"), pid="pt-secret-4711")
    access = "fhir-access-token-log-check"
    body["fhirServer"] = "https://fhir.example.test"
    body["fhirAuthorization"] = {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": 60,
        "scope": "patient/*.read",
        "subject": "cds",
    }
    assert _post(url, token, body).status_code == 200
    _post(url, token, body)  # replay: refused, and logged as refused
    _post(url, forged(trusted.es.token(ISSUER, url)), body)
    log = trusted.log()
    assert "caller refused" in log
    for secret in (token, token.split(".")[1], token.split(".")[2], access, "pt-secret-4711"):
        assert secret not in log


def test_jwks_from_an_allowed_jku_url_is_used_when_the_token_names_it(tmp_path: Path) -> None:
    key = SigningKey.ec("rotated-1")
    state = FhirState(jwks=jwks(key))
    with fhir_server(state) as base:
        jku = base.replace("/fhir", "/jwks.json")
        issuer_jwks = tmp_path / "empty-jwks.json"
        issuer_jwks.write_bytes(orjson.dumps({"keys": []}))
        env = {"CALCINOSIS_ALLOWED_JKU": orjson.dumps([jku]).decode()}
        with LiveServer(tmp_path, env=env, args=["--trusted-issuer", f"{ISSUER}={issuer_jwks}"]) as live:
            url = f"{live.url}/cds-services/{PV}"
            assert _post(url, key.token(ISSUER, url, headers={"jku": jku})).status_code == 200
            assert _post(url, key.token(ISSUER, url)).status_code == 401  # without jku: the issuer's JWKS


def _write(path: Path, *keys: SigningKey) -> None:
    path.write_bytes(orjson.dumps(jwks(*keys)))


@pytest.mark.parametrize(("min_refresh", "found"), [(3600.0, False), (0.0, True)])
def test_unknown_kid_refreshes_the_jwks_at_most_once_per_interval_when_keys_rotate(
    tmp_path: Path, min_refresh: float, found: bool
) -> None:
    old, new = SigningKey.ec("k-old"), SigningKey.ec("k-new")
    path = tmp_path / "jwks.json"
    _write(path, old)

    async def run() -> tuple[bool, bool]:
        async with httpx.AsyncClient() as http:
            ring = KeyRing(min_refresh, http)
            first = await ring.key(str(path), "k-old") is not None
            _write(path, old, new)  # the EHR rotates its keys
            return first, await ring.key(str(path), "k-new") is not None

    assert asyncio.run(run()) == (True, found)


def test_unsigned_calls_are_refused_off_loopback_when_no_issuer_is_trusted() -> None:
    async def run(host: str) -> str | None:
        async with httpx.AsyncClient() as http:
            verifier = TokenVerifier(load_settings(), KeyRing(60, http))
            return (await verifier.caller(None, "http://x/cds-services", host)).client

    assert asyncio.run(run("127.0.0.1")) == "loopback (unsigned)"
    assert asyncio.run(run("::1")) == "loopback (unsigned)"
    for host in ("10.0.0.5", "192.168.1.20", "testclient", ""):
        with pytest.raises(AuthError):
            asyncio.run(run(host))


def test_startup_says_unsigned_loopback_calls_are_accepted_when_no_issuer_is_trusted(
    server: LiveServer,
) -> None:
    assert "unsigned calls are accepted from loopback clients only" in server.log()


def test_a_token_replayed_to_another_worker_is_refused_when_workers_share_the_cache(tmp_path: Path) -> None:
    from calcinosis.cdshooks.security import SharedReplayCache

    one, two = SharedReplayCache(tmp_path / "jti.db"), SharedReplayCache(tmp_path / "jti.db")  # two processes
    now = time.time()
    assert one.first_use(ISSUER, "jti-1", now + 300, now) is True
    assert two.first_use(ISSUER, "jti-1", now + 300, now) is False
    assert two.first_use(ISSUER, "jti-2", now + 300, now) is True
    assert one.first_use(ISSUER, "jti-3", now - 1, now - 10) is True
    assert two.first_use(ISSUER, "jti-3", now + 300, now) is True  # the first use had expired


def test_replay_is_refused_across_worker_processes_when_served_by_several(tmp_path: Path) -> None:
    es = SigningKey.ec("multi")
    path = tmp_path / "jwks.json"
    _write(path, es)
    args = ["--trusted-issuer", f"{ISSUER}={path}", "--workers", "2"]
    with LiveServer(tmp_path, args=args) as live:
        url = f"{live.url}/cds-services/{PV}"
        statuses = []
        for _ in range(4):
            token = es.token(ISSUER, url)
            statuses += [_post(url, token).status_code, _post(url, token).status_code]
        assert statuses == [200, 401] * 4
