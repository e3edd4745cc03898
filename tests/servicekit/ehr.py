"""An EHR double for SMART App Launch 2.0: an authorization server and a FHIR R4 server in one process.

Run it by hand (``make ehr-double``) or from the tests (:class:`EhrDouble`)::

    python -m tests.servicekit.ehr --port 9090 --app-launch http://127.0.0.1:8000/launch

What it does, following the SMART App Launch and OAuth 2.0 specifications:

- ``GET /`` lists its patients with a link that launches the app on each (an "EHR launch");
  ``GET /ehr/launch?patient=…[&appContext=…]`` makes a launch id and opens the app's launch URL with
  ``iss`` and ``launch`` (as an EHR does when a clinician opens an app, or follows a card's ``smart`` link);
- ``GET /fhir/.well-known/smart-configuration`` (discovery), ``GET /auth/jwks.json`` (its id_token key);
- ``GET /auth/authorize`` approves at once: checks ``client_id``, the registered ``redirect_uri``, ``aud``,
  ``state`` and PKCE (S256 only), resolves the patient from the launch (or picks one for ``launch/patient``)
  and redirects with ``code`` and ``state``; scopes it is told to refuse are left out of the grant;
- ``POST /auth/token``: ``authorization_code`` (PKCE verifier checked, code single use and short-lived,
  redirect_uri checked) and ``refresh_token``; a public client sends ``client_id``, a confidential one a
  ``private_key_jwt`` assertion checked against the JWKS URL registered for it (RS384/ES384, ``aud`` = the
  token URL, at most five minutes, ``jti`` not seen before); the response names the ``patient``, the
  ``appContext`` of the launch, the granted ``scope`` and an ``id_token`` with ``fhirUser``;
- the FHIR API checks the bearer token (known, not expired, not revoked), its scopes (``r`` for reads, ``s``
  for searches) and the patient compartment, and pages search results (``link[relation=next]``);
- ``/_control`` changes its behaviour at run time (slow or forbidden types, refused scopes, short token
  lifetimes, a token for another patient) and ``/_control/log`` and ``/_control/issued`` tell the tests
  what it saw and which tokens it issued.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "fhir"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCOPE = re.compile(r"^(patient|user)/(\*|[A-Z][A-Za-z]+)\.(read|[cruds]+)$")
FHIR_JSON = "application/fhir+json"


@dataclass
class Behaviour:
    """What the tests can change while it runs (``POST /_control``)."""

    page_size: int = 2
    token_lifetime_s: int = 300
    code_lifetime_s: int = 60
    refuse_scopes: list[str] = field(default_factory=list)  # never granted
    forbid_types: list[str] = field(default_factory=list)  # searches answer 403 even with the scope
    slow_types: dict[str, float] = field(default_factory=dict)  # seconds before answering
    token_patient: str | None = None  # name this patient in token responses instead of the launch's
    leak_types: list[str] = field(default_factory=list)  # searches also return another patient's resource
    grant_refresh: bool = True  # honour online_access / offline_access with a refresh token
    standalone_patient: str | None = None  # the patient "picked" in a standalone launch
    revoked: bool = False  # every access token is refused
    pkce_methods: list[str] = field(default_factory=lambda: ["S256"])  # advertised in smart-configuration
    patient_birth_date: str | None = None  # serve this Patient.birthDate instead (e.g. a malformed one)


@dataclass
class Client:
    redirect_uris: list[str]
    jwks_uri: str | None = None  # registered JWKS URL: a confidential client using private_key_jwt


@dataclass
class EhrState:
    base: str
    app_launch: str
    clients: dict[str, Client]
    behaviour: Behaviour = field(default_factory=Behaviour)
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    patients: list[str] = field(default_factory=list)
    launches: dict[str, dict[str, Any]] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    access: dict[str, dict[str, Any]] = field(default_factory=dict)
    refresh: dict[str, dict[str, Any]] = field(default_factory=dict)
    jtis: set[str] = field(default_factory=set)
    log: list[dict[str, Any]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    key: Any = field(default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @property
    def fhir(self) -> str:
        return f"{self.base}/fhir"


# ---------------------------------------------------------------- data


def load_examples(state: EhrState, paths: list[Path]) -> None:
    """Each example Bundle becomes one patient; resource ids are prefixed per patient (they repeat across
    examples) and the references inside the Bundle follow."""
    for path in paths:
        bundle = orjson.loads(path.read_bytes())
        entries = [e for e in bundle.get("entry", []) if isinstance(e.get("resource"), dict)]
        patient = next(e["resource"]["id"] for e in entries if e["resource"]["resourceType"] == "Patient")
        renamed: dict[str, str] = {}  # old reference (Type/id or the entry's fullUrl) -> new Type/id
        for e in entries:
            r = e["resource"]
            new = f"{r['resourceType']}/{r['id'] if r['resourceType'] == 'Patient' else patient + '-' + r['id']}"
            renamed[f"{r['resourceType']}/{r['id']}"] = new
            if isinstance(e.get("fullUrl"), str):
                renamed[e["fullUrl"]] = new
        for e in entries:
            r = e["resource"]
            new_id = renamed[f"{r['resourceType']}/{r['id']}"].split("/", 1)[1]
            r = {**_rewrite(r, renamed), "id": new_id}
            state.resources[(r["resourceType"], r["id"])] = r
        state.patients.append(patient)


def _rewrite(value: Any, renamed: dict[str, str]) -> Any:
    if isinstance(value, dict):
        out = {k: _rewrite(v, renamed) for k, v in value.items()}
        ref = out.get("reference")
        if isinstance(ref, str):
            if ref in renamed:
                out["reference"] = renamed[ref]
            else:
                for old, new in renamed.items():
                    if ref.endswith("/" + old):
                        out["reference"] = new
        return out
    if isinstance(value, list):
        return [_rewrite(v, renamed) for v in value]
    return value


def belongs(resource: dict[str, Any], patient: str) -> bool:
    if resource["resourceType"] == "Patient":
        return bool(resource.get("id") == patient)
    for element in ("subject", "patient"):
        ref = resource.get(element)
        if isinstance(ref, dict) and ref.get("reference") == f"Patient/{patient}":
            return True
    return False


# ---------------------------------------------------------------- helpers


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def s256(verifier: str) -> str:
    return _b64(hashlib.sha256(verifier.encode("ascii")).digest())


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def _outcome(status: int, text: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": "error", "code": "forbidden" if status == 403 else "security", "diagnostics": text}
        ],
    }
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON, headers=headers)


def allows(scopes: list[str], rtype: str, op: str) -> bool:
    for scope in scopes:
        m = SCOPE.match(scope)
        if m and m.group(2) in ("*", rtype) and (m.group(3) == "read" or op in m.group(3)):
            return True
    return False


def _redirect_error(redirect_uri: str, state: str | None, error: str, description: str) -> Response:
    query = {"error": error, "error_description": description, **({"state": state} if state else {})}
    return RedirectResponse(f"{redirect_uri}?{urlencode(query)}", status_code=302)


# ---------------------------------------------------------------- the app


def create_app(state: EhrState) -> Starlette:
    b = state.behaviour
    initial = asdict(b)

    def record(request: Request, **extra: Any) -> None:
        state.log.append(
            {
                "method": request.method,
                "path": request.url.path,
                "query": dict(request.query_params),
                "authorization": request.headers.get("authorization"),
                **extra,
            }
        )

    async def home(request: Request) -> HTMLResponse:
        items = "".join(
            f'<li><a href="/ehr/launch?patient={p}">Open calcinosis-cds for {p}</a></li>'
            for p in state.patients
        )
        html = (
            "<!doctype html><title>EHR double</title><h1>EHR double</h1>"
            f"<p>FHIR base (iss): <code>{state.fhir}</code>. App launch URL: <code>{state.app_launch}</code>.</p>"
            f"<ul>{items}</ul>"
        )
        return HTMLResponse(html)

    async def ehr_launch(request: Request) -> Response:
        q = request.query_params
        patient = q.get("patient") or ""
        if patient not in state.patients:
            return HTMLResponse("unknown patient", status_code=404)
        launch = secrets.token_urlsafe(16)
        state.launches[launch] = {
            "patient": patient,
            "user": q.get("user") or "Practitioner/dr-smart",
            "appContext": q.get("appContext"),
        }
        app = q.get("app") or state.app_launch
        return RedirectResponse(f"{app}?{urlencode({'iss': state.fhir, 'launch': launch})}", status_code=302)

    async def smart_configuration(request: Request) -> JSONResponse:
        record(request)
        return JSONResponse(
            {
                "issuer": state.fhir,
                "jwks_uri": f"{state.base}/auth/jwks.json",
                "authorization_endpoint": f"{state.base}/auth/authorize",
                "token_endpoint": f"{state.base}/auth/token",
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt", "none"],
                "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": [
                    "openid",
                    "fhirUser",
                    "launch",
                    "launch/patient",
                    "online_access",
                    "patient/*.rs",
                ],
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": b.pkce_methods,
                "capabilities": [
                    "launch-ehr",
                    "launch-standalone",
                    "client-public",
                    "client-confidential-asymmetric",
                    "context-ehr-patient",
                    "context-standalone-patient",
                    "sso-openid-connect",
                    "permission-v2",
                    "permission-patient",
                    "permission-online",
                ],
            }
        )

    async def metadata(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "resourceType": "CapabilityStatement",
                "status": "active",
                "kind": "instance",
                "fhirVersion": "4.0.1",
            },
            media_type=FHIR_JSON,
        )

    async def jwks(request: Request) -> JSONResponse:
        jwk = json.loads(RSAAlgorithm.to_jwk(state.key.public_key()))
        return JSONResponse({"keys": [{**jwk, "kid": "ehr-id-token", "alg": "RS256", "use": "sig"}]})

    async def authorize(request: Request) -> Response:
        q = request.query_params
        record(request)
        client = state.clients.get(q.get("client_id") or "")
        redirect_uri = q.get("redirect_uri") or ""
        if client is None or redirect_uri not in client.redirect_uris:
            return HTMLResponse("unknown client or unregistered redirect_uri", status_code=400)
        st = q.get("state")
        if not st:
            return _redirect_error(redirect_uri, None, "invalid_request", "state is required")
        if q.get("response_type") != "code":
            return _redirect_error(redirect_uri, st, "unsupported_response_type", "only code")
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return _redirect_error(redirect_uri, st, "invalid_request", "PKCE with S256 is required")
        if q.get("aud") != state.fhir:
            return _redirect_error(redirect_uri, st, "invalid_request", "aud is not this FHIR server")
        scopes = (q.get("scope") or "").split()
        context: dict[str, Any]
        if "launch" in scopes:
            found = state.launches.get(q.get("launch") or "")
            if found is None:
                return _redirect_error(redirect_uri, st, "invalid_request", "unknown launch")
            context = dict(found)
        elif "launch/patient" in scopes:
            context = {"patient": b.standalone_patient or state.patients[0], "user": "Practitioner/dr-smart"}
        else:
            context = {"user": "Practitioner/dr-smart"}
        granted = [s for s in scopes if s not in b.refuse_scopes]
        if not b.grant_refresh:
            granted = [s for s in granted if s not in ("online_access", "offline_access")]
        code = secrets.token_urlsafe(24)
        state.codes[code] = {
            "client_id": q.get("client_id"),
            "redirect_uri": redirect_uri,
            "challenge": q["code_challenge"],
            "scopes": granted,
            "context": context,
            "expires": time.time() + b.code_lifetime_s,
            "used": False,
        }
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': st})}", status_code=302)

    async def check_assertion(form: dict[str, str], client_id: str, client: Client) -> str | None:
        """None when the private_key_jwt assertion is good, else what is wrong."""
        if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
            return "a private_key_jwt client assertion is required"
        assertion = form["client_assertion"]
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return "malformed assertion"
        if header.get("alg") not in ("RS384", "ES384") or header.get("typ") != "JWT" or not header.get("kid"):
            return "assertion header must have alg RS384/ES384, typ JWT and a kid"
        async with httpx.AsyncClient(trust_env=False, timeout=5) as http:
            keys = (await http.get(str(client.jwks_uri))).json().get("keys", [])
        kty = "RSA" if header["alg"].startswith("RS") else "EC"
        matches = [k for k in keys if k.get("kid") == header["kid"] and k.get("kty") == kty]
        if len(matches) != 1:
            return "no single registered key matches the assertion's kid"
        try:
            key = jwt.PyJWK(matches[0], algorithm=header["alg"])
            claims = jwt.decode(
                assertion,
                key.key,
                algorithms=[header["alg"]],
                audience=f"{state.base}/auth/token",
                issuer=client_id,
                options={"require": ["iss", "sub", "aud", "exp", "jti"]},
            )
        except jwt.PyJWTError as exc:
            return f"assertion rejected: {type(exc).__name__}"
        if claims["sub"] != client_id:
            return "assertion sub must be the client_id"
        if claims["exp"] > time.time() + 300 + 5:
            return "assertion lifetime is over five minutes"
        if claims["jti"] in state.jtis:
            return "assertion jti was used before"
        state.jtis.add(claims["jti"])
        return None

    def issue(client_id: str, scopes: list[str], context: dict[str, Any]) -> dict[str, Any]:
        access = secrets.token_urlsafe(32)
        patient = b.token_patient or context.get("patient")
        state.access[access] = {
            "client_id": client_id,
            "scopes": scopes,
            "patient": patient,
            "expires": time.time() + b.token_lifetime_s,
        }
        out: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": b.token_lifetime_s,
            "scope": " ".join(scopes),
            "need_patient_banner": True,
        }
        if patient:
            out["patient"] = patient
        if context.get("appContext"):
            out["appContext"] = context["appContext"]
        if "openid" in scopes and "fhirUser" in scopes:
            now = int(time.time())
            claims = {
                "iss": state.fhir,
                "sub": context["user"],
                "aud": client_id,
                "iat": now,
                "exp": now + 300,
                "fhirUser": f"{state.fhir}/{context['user']}",
            }
            out["id_token"] = jwt.encode(
                claims, state.key, algorithm="RS256", headers={"kid": "ehr-id-token"}
            )
        if {"online_access", "offline_access"} & set(scopes):
            refresh = secrets.token_urlsafe(32)
            state.refresh[refresh] = {"client_id": client_id, "scopes": scopes, "context": context}
            out["refresh_token"] = refresh
        state.issued.extend(v for k, v in out.items() if k in ("access_token", "refresh_token", "id_token"))
        return out

    async def token(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        record(request, grant_type=form.get("grant_type"), form_keys=sorted(form))
        grant = form.get("grant_type")
        if grant == "authorization_code":
            entry = state.codes.get(form.get("code", ""))
            if entry is None:
                return _oauth_error("invalid_grant", "unknown code")
            client_id = str(entry["client_id"])
        elif grant == "refresh_token":
            entry = state.refresh.get(form.get("refresh_token", ""))
            if entry is None or not b.grant_refresh:
                return _oauth_error("invalid_grant", "unknown or refused refresh token")
            client_id = str(entry["client_id"])
        else:
            return _oauth_error("unsupported_grant_type", "authorization_code or refresh_token")
        client = state.clients[client_id]
        if client.jwks_uri:
            problem = await check_assertion(form, client_id, client)
            if problem:
                return _oauth_error("invalid_client", problem, 401)
        elif form.get("client_id") != client_id:
            return _oauth_error("invalid_client", "client_id does not match the code's client", 401)
        if grant == "refresh_token":
            return JSONResponse(
                issue(client_id, entry["scopes"], entry["context"]),
                headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
            )
        if entry["used"]:
            return _oauth_error("invalid_grant", "code already used")
        entry["used"] = True
        if time.time() > entry["expires"]:
            return _oauth_error("invalid_grant", "code expired")
        if form.get("redirect_uri") != entry["redirect_uri"]:
            return _oauth_error("invalid_grant", "redirect_uri does not match")
        verifier = form.get("code_verifier")
        if not verifier:
            return _oauth_error("invalid_request", "code_verifier is required (PKCE)")
        if not secrets.compare_digest(s256(verifier), entry["challenge"]):
            return _oauth_error("invalid_grant", "code_verifier does not match the code_challenge")
        return JSONResponse(
            issue(client_id, entry["scopes"], entry["context"]),
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def bearer(request: Request) -> dict[str, Any] | Response:
        auth = request.headers.get("authorization") or ""
        grant = state.access.get(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None
        challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        if grant is None or b.revoked:
            return _outcome(401, "no valid access token", challenge)
        if time.time() >= grant["expires"]:
            return _outcome(401, "access token expired", challenge)
        return grant

    async def read(request: Request) -> Response:
        record(request)
        grant = bearer(request)
        if isinstance(grant, Response):
            return grant
        rtype, rid = request.path_params["rtype"], request.path_params["rid"]
        if not allows(grant["scopes"], rtype, "r"):
            return _outcome(403, f"scope does not allow reading {rtype}")
        found = state.resources.get((rtype, rid))
        if found is None:
            return _outcome(404, "not found")
        if rtype != "Medication" and not belongs(found, grant["patient"]):
            return _outcome(403, "outside the patient compartment")
        await asyncio.sleep(b.slow_types.get(rtype, 0))
        if rtype == "Patient" and b.patient_birth_date is not None:
            found = {**found, "birthDate": b.patient_birth_date}
        return JSONResponse(found, media_type=FHIR_JSON)

    async def search(request: Request) -> Response:
        record(request)
        grant = bearer(request)
        if isinstance(grant, Response):
            return grant
        rtype = request.path_params["rtype"]
        q = request.query_params
        if not allows(grant["scopes"], rtype, "s"):
            return _outcome(403, f"scope does not allow searching {rtype}")
        patient = q.get("patient") or (q.get("subject") or "").removeprefix("Patient/")
        if patient != grant["patient"]:
            return _outcome(403, "a patient-level token searches its own patient only")
        if rtype in b.forbid_types:
            return _outcome(403, f"{rtype} is not available to this app")
        await asyncio.sleep(b.slow_types.get(rtype, 0))
        matches = [r for (t, _), r in state.resources.items() if t == rtype and belongs(r, patient)]
        if rtype in b.leak_types:
            other = next(
                (r for (t, _), r in state.resources.items() if t == rtype and not belongs(r, patient)), None
            )
            matches += [other] if other else []
        count = int(q.get("_count") or b.page_size)
        size = min(count, b.page_size)
        offset = int(q.get("_offset") or 0)
        page = matches[offset : offset + size]
        entries: list[dict[str, Any]] = [
            {"fullUrl": f"{state.fhir}/{rtype}/{r['id']}", "resource": r, "search": {"mode": "match"}}
            for r in page
        ]
        if q.get("_include", "").endswith(":medication") and allows(grant["scopes"], "Medication", "r"):
            for r in page:
                ref = (r.get("medicationReference") or {}).get("reference", "")
                med = state.resources.get(tuple(ref.split("/", 1))) if ref.count("/") == 1 else None  # type: ignore[arg-type]
                if med is not None:
                    entries.append({"resource": med, "search": {"mode": "include"}})
        params = {k: v for k, v in q.items() if k != "_offset"}
        links = [{"relation": "self", "url": f"{state.fhir}/{rtype}?{urlencode(q)}"}]
        if offset + size < len(matches):
            links.append(
                {
                    "relation": "next",
                    "url": f"{state.fhir}/{rtype}?{urlencode({**params, '_offset': offset + size})}",
                }
            )
        bundle = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(matches),
            "link": links,
            "entry": entries,
        }
        return JSONResponse(bundle, media_type=FHIR_JSON)

    async def control(request: Request) -> JSONResponse:
        changes = await request.json()
        for key, value in changes.items():
            if not hasattr(b, key):
                return JSONResponse({"error": f"unknown setting {key}"}, status_code=400)
            setattr(b, key, value)
        return JSONResponse(asdict(b))

    async def control_reset(request: Request) -> JSONResponse:
        for key, value in initial.items():
            setattr(b, key, json.loads(json.dumps(value)))
        state.log.clear()
        return JSONResponse(asdict(b))

    async def control_log(request: Request) -> JSONResponse:
        return JSONResponse(state.log)

    async def control_issued(request: Request) -> JSONResponse:
        return JSONResponse(state.issued)

    async def control_clear(request: Request) -> JSONResponse:
        state.log.clear()
        return JSONResponse({"cleared": True})

    async def control_expire(request: Request) -> JSONResponse:
        for grant in state.access.values():
            grant["expires"] = 0
        return JSONResponse({"expired": len(state.access)})

    return Starlette(
        routes=[
            Route("/", home),
            Route("/ehr/launch", ehr_launch),
            Route("/fhir/.well-known/smart-configuration", smart_configuration),
            Route("/fhir/metadata", metadata),
            Route("/auth/jwks.json", jwks),
            Route("/auth/authorize", authorize),
            Route("/auth/token", token, methods=["POST"]),
            Route("/fhir/{rtype:str}/{rid:str}", read),
            Route("/fhir/{rtype:str}", search),
            Route("/_control", control, methods=["POST"]),
            Route("/_control/reset", control_reset, methods=["POST"]),
            Route("/_control/log", control_log),
            Route("/_control/issued", control_issued),
            Route("/_control/clear", control_clear, methods=["POST"]),
            Route("/_control/expire-tokens", control_expire, methods=["POST"]),
        ]
    )


# ---------------------------------------------------------------- running it


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="SMART App Launch EHR double (authorization + FHIR server)")
    parser.add_argument("--port", type=int, default=9090)
    parser.add_argument("--app-launch", default="http://127.0.0.1:8000/launch", help="the app's launch URL")
    parser.add_argument("--client-id", default="calcinosis-cds")
    parser.add_argument(
        "--redirect-uri", action="append", help="registered redirect URL (default: beside the launch URL)"
    )
    parser.add_argument("--jwks-uri", help="the app's JWKS URL: registers it as a private_key_jwt client")
    parser.add_argument("--config", type=Path, help="JSON: behaviour settings (see Behaviour)")
    parser.add_argument(
        "--examples", type=Path, default=EXAMPLES, help="folder of FHIR Bundles, one per patient"
    )
    args = parser.parse_args(argv)
    base = f"http://127.0.0.1:{args.port}"
    redirects = args.redirect_uri or [args.app_launch.rsplit("/", 1)[0] + "/smart/callback"]
    state = EhrState(base, args.app_launch, {args.client_id: Client(redirects, args.jwks_uri)})
    if args.config:
        for key, value in json.loads(args.config.read_text()).items():
            setattr(state.behaviour, key, value)
    load_examples(state, sorted(args.examples.glob("*.json")))
    print(f"EHR double: FHIR base (iss) {state.fhir}; launch a patient from {base}/", flush=True)  # noqa: T201
    uvicorn.run(create_app(state), host="127.0.0.1", port=args.port, log_level="warning")


class EhrDouble:
    """The double as a real process on a free loopback port, for the tests."""

    def __init__(
        self,
        workdir: Path,
        *,
        app_launch: str,
        client_id: str = "calcinosis-cds",
        jwks_uri: str | None = None,
        behaviour: dict[str, Any] | None = None,
    ) -> None:
        from tests.servicekit.server import free_port

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.fhir = f"{self.base}/fhir"
        self.log_path = workdir / f"ehr-{self.port}.log"
        config = workdir / f"ehr-{self.port}.json"
        config.write_text(json.dumps(behaviour or {}))
        self.cmd = [
            sys.executable,
            "-m",
            "tests.servicekit.ehr",
            "--port",
            str(self.port),
            "--app-launch",
            app_launch,
            "--client-id",
            client_id,
            "--config",
            str(config),
            *(["--jwks-uri", jwks_uri] if jwks_uri else []),
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> EhrDouble:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CALCINOSIS_")}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"EHR double exited:\n{self.log_path.read_text(errors='replace')}")
            try:
                if httpx.get(f"{self.fhir}/metadata", timeout=1, trust_env=False).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("EHR double did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> EhrDouble:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def control(self, **changes: Any) -> dict[str, Any]:
        response = httpx.post(f"{self.base}/_control", json=changes, trust_env=False)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def log(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = httpx.get(f"{self.base}/_control/log", trust_env=False).json()
        return result

    def reset(self) -> None:
        """Back to the behaviour it started with, and an empty request log."""
        httpx.post(f"{self.base}/_control/reset", trust_env=False).raise_for_status()

    def clear_log(self) -> None:
        httpx.post(f"{self.base}/_control/clear", trust_env=False).raise_for_status()

    def issued(self) -> list[str]:
        result: list[str] = httpx.get(f"{self.base}/_control/issued", trust_env=False).json()
        return result

    def expire_tokens(self) -> None:
        httpx.post(f"{self.base}/_control/expire-tokens", trust_env=False).raise_for_status()

    def launch_url(self, patient: str, *, app_context: str | None = None, app: str | None = None) -> str:
        query = {
            "patient": patient,
            **({"appContext": app_context} if app_context else {}),
            **({"app": app} if app else {}),
        }
        return f"{self.base}/ehr/launch?{urlencode(query)}"


if __name__ == "__main__":
    main()
