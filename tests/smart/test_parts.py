"""The SMART parts on their own: scopes from the reader, appContext, keys and client assertions, settings,
the session table, the cookie over https, and the pages when SMART is not set up."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey, RSAKey

from calcinosis.api import create_app
from calcinosis.errors import InputError
from calcinosis.fhir.facts import READERS, REFERENCED_ONLY
from calcinosis.settings import load_settings
from calcinosis.smart.context import app_context_value, parse_app_context
from calcinosis.smart.keys import load_client_key
from calcinosis.smart.oauth import ASSERTION_LIFETIME_S, SmartPrivateKeyJWT
from calcinosis.smart.record import belongs, resource_date
from calcinosis.smart.scopes import Granted, read_types, requested_scopes
from calcinosis.smart.sessions import SessionTable
from tests.smart.conftest import Pair


def test_resource_scopes_are_the_readers_types() -> None:
    assert set(read_types()) == {"Patient", *READERS, *REFERENCED_ONLY}
    ehr = requested_scopes("ehr")
    assert ehr[:2] == ("launch", "openid") and "launch/patient" not in ehr
    assert requested_scopes("standalone")[0] == "launch/patient"
    assert {s for s in ehr if s.startswith("patient/")} == {f"patient/{t}.rs" for t in read_types()}


@pytest.mark.parametrize(
    ("scope", "rtype", "op", "allowed"),
    [
        ("patient/Condition.rs", "Condition", "s", True),
        ("patient/Condition.r", "Condition", "s", False),
        ("patient/Condition.r", "Condition", "r", True),
        ("patient/*.rs", "Observation", "s", True),
        ("patient/Observation.read", "Observation", "s", True),  # SMART v1
        ("user/Observation.cruds", "Observation", "s", True),
        ("patient/Observation.write", "Observation", "r", False),
        ("system/*.rs", "Observation", "s", False),
        ("patient/Condition.rs", "Observation", "s", False),
        ("patient/Observation.rs?category=laboratory", "Observation", "s", False),  # narrowed: not assumed
        ("launch openid", "Patient", "r", False),
    ],
)
def test_granted_scopes_are_read_as_smart_defines_them(
    scope: str, rtype: str, op: str, allowed: bool
) -> None:
    assert Granted.parse(scope).allows(rtype, op) is allowed  # type: ignore[arg-type]


def test_app_context_names_the_patient_and_an_anchor_and_ignores_anything_else() -> None:
    value = app_context_value("p-1", therapy="minocycline")
    assert parse_app_context(value).patient == "p-1"
    assert parse_app_context(value).focus == "therapy-minocycline"
    assert parse_app_context(app_context_value("p-1", alert="a8-diltiazem-colchicine")).focus == (
        "alert-a8-diltiazem-colchicine"
    )
    assert parse_app_context(app_context_value("p-1", section="subtype")).focus == "subtype-title"
    for hostile in (
        '{"therapy":"x\\" onload=\\"alert(1)"}',
        '{"alert":"../../x"}',
        "not json",
        '["a"]',
        "{}",
    ):
        assert parse_app_context(hostile).focus is None


def test_a_resource_belongs_only_to_its_own_patient() -> None:
    iss = "https://ehr.test/fhir"
    assert belongs({"resourceType": "Condition", "subject": {"reference": "Patient/p1"}}, "p1", iss)
    assert belongs(
        {"resourceType": "AllergyIntolerance", "patient": {"reference": f"{iss}/Patient/p1"}}, "p1", iss
    )
    assert not belongs({"resourceType": "Condition", "subject": {"reference": "Patient/p2"}}, "p1", iss)
    assert not belongs(
        {"resourceType": "Condition", "subject": {"reference": "https://x/Patient/p1"}}, "p1", iss
    )
    assert not belongs({"resourceType": "Condition"}, "p1", iss)
    assert resource_date({"effectivePeriod": {"start": "2024-02-03T10:00:00Z"}}) == "2024-02-03"


def test_client_keys_load_from_pem_or_jwk_and_pick_rs384_or_es384(tmp_path: Path) -> None:
    ec = tmp_path / "ec.pem"
    ec.write_bytes(ECKey.generate_key("P-384").as_pem(private=True))
    key = load_client_key(ec)
    assert key.alg == "ES384" and key.kid and "d" not in key.public_jwk()
    rsa_jwk = tmp_path / "rsa.json"
    rsa_jwk.write_text(json.dumps(RSAKey.generate_key(2048).as_dict(private=True, kid="k-rsa")))
    assert (load_client_key(rsa_jwk).alg, load_client_key(rsa_jwk).kid) == ("RS384", "k-rsa")
    assert load_client_key(rsa_jwk, "override").kid == "override"


def _pem(private: rsa.RSAPrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda: ECKey.generate_key("P-256").as_pem(private=True), "P-384"),
        (lambda: ECKey.generate_key("P-384").as_pem(private=False), "not a PEM private key"),
        (lambda: _pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)), "2048"),  # noqa: S505
        (lambda: b"hello", "not a PEM private key"),
    ],
)
def test_unusable_client_keys_are_refused_in_one_line(tmp_path: Path, content: object, message: str) -> None:
    path = tmp_path / "key"
    path.write_bytes(content())  # type: ignore[operator]
    with pytest.raises(InputError, match=message) as err:
        load_client_key(path)
    assert "\n" not in str(err.value) and "BEGIN" not in str(err.value)


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_the_client_assertion_is_a_short_lived_single_use_jwt_for_the_token_url(
    tmp_path: Path, alg: str
) -> None:
    private = ECKey.generate_key("P-384") if alg == "ES384" else RSAKey.generate_key(2048)
    path = tmp_path / "key.pem"
    path.write_bytes(private.as_pem(private=True))
    key = load_client_key(path, "kid-1")
    signer = SmartPrivateKeyJWT(key)

    class Auth:
        client_id = "calcinosis-cds"
        client_secret = key.key

    url = "https://ehr.test/auth/token"
    first, second = signer.sign(Auth(), url), signer.sign(Auth(), url)
    public = jwt.PyJWK(key.public_jwk(), algorithm=alg).key
    header = jwt.get_unverified_header(first)
    assert (header["alg"], header["kid"], header["typ"]) == (alg, "kid-1", "JWT")
    claims = [jwt.decode(t, public, algorithms=[alg], audience=url) for t in (first, second)]
    for c in claims:
        assert c["iss"] == c["sub"] == "calcinosis-cds"
        assert 0 < c["exp"] - time.time() <= ASSERTION_LIFETIME_S
    assert claims[0]["jti"] != claims[1]["jti"]


def test_the_allow_list_is_comma_separated_urls() -> None:
    s = load_settings(smart_allowed_iss=" https://a.test/fhir/ , http://127.0.0.1:9/fhir,")
    assert s.smart_issuers == ("https://a.test/fhir", "http://127.0.0.1:9/fhir")
    with pytest.raises(InputError, match="smart_allowed_iss"):
        load_settings(smart_allowed_iss="ftp://x")


def test_sessions_expire_and_state_is_single_use() -> None:
    table = SessionTable(ttl_s=0.2)
    session = table.create()
    assert table.get(session.sid) is session and table.get("nope") is None and table.get(None) is None
    assert session.take_pending("unknown") is None
    time.sleep(0.25)
    assert table.get(session.sid) is None
    assert len(table) == 0


def test_the_cookie_is_secure_over_https(public: Pair, tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path, smart_client_id="calcinosis-cds", smart_allowed_iss=public.ehr.fhir
    )
    with TestClient(create_app(settings), base_url="https://app.test") as client:
        response = client.get(f"/launch?iss={public.ehr.fhir}&launch=abc", follow_redirects=False)
    assert response.status_code == 302
    cookie = response.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert response.headers["location"].startswith(f"{public.ehr.base}/auth/authorize?")
    assert "redirect_uri=https%3A%2F%2Fapp.test%2Fsmart%2Fcallback" in response.headers["location"]


def test_without_a_client_id_the_launch_pages_say_how_to_set_it_up(tmp_path: Path) -> None:
    with TestClient(create_app(load_settings(data_dir=tmp_path)), client=("127.0.0.1", 5000)) as client:
        for url in (
            "/launch?iss=https://a.test/fhir&launch=x",
            "/launch/standalone",
            "/smart/record/abcdefghij",
        ):
            page = client.get(url)
            assert page.status_code == 404, url
            assert "CALCINOSIS_SMART_CLIENT_ID" in page.text and "Go to the assess page" in page.text
        assert client.get("/smart/callback?code=x&state=y").status_code == 404
        assert client.post("/smart/logout").status_code == 200


def test_a_refused_launch_leaves_no_session_behind(tmp_path: Path) -> None:
    closed = "http://127.0.0.1:1/fhir"  # allowed, but nothing listens there
    settings = load_settings(data_dir=tmp_path, smart_client_id="c", smart_allowed_iss=closed)
    with TestClient(create_app(settings)) as client:
        page = client.get("/launch?iss=https://evil.test/fhir&launch=x", follow_redirects=False)
        assert page.status_code == 403 and "set-cookie" not in page.headers
        unreachable = client.get(f"/launch?iss={closed}&launch=x", follow_redirects=False)
        assert unreachable.status_code == 502 and "could not be reached" in unreachable.text
        assert "set-cookie" not in unreachable.headers
        assert len(client.app.state.smart.sessions) == 0  # type: ignore[attr-defined]


def test_a_full_session_table_drops_sessions_without_a_launch_first(monkeypatch: pytest.MonkeyPatch) -> None:
    import calcinosis.smart.sessions as sessions

    monkeypatch.setattr(sessions, "MAX_SESSIONS", 3)
    table = SessionTable(ttl_s=60)
    launched = table.create()
    launched.launches["h"] = object()  # type: ignore[assignment]
    idle = [table.create(), table.create()]
    table.create()
    assert table.get(launched.sid) is launched
    assert table.get(idle[0].sid) is None and table.get(idle[1].sid) is idle[1]
