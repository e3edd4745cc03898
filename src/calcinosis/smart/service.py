"""A launch from start to assessment: authorize, take the token, read the record, assess it with the same
reader and engine as every other input, and record in the audit trail who launched, for which patient and
what was read."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any

import orjson

from calcinosis.casework import Origin, assess_and_record
from calcinosis.engine.results import Assessment
from calcinosis.server.state import AppState
from calcinosis.smart import oauth
from calcinosis.smart.context import parse_app_context
from calcinosis.smart.discovery import SmartConfiguration, allowed_iss, discover
from calcinosis.smart.errors import EhrError, PatientMismatch
from calcinosis.smart.record import ReadReport, as_bundle, read_record
from calcinosis.smart.runtime import SmartRuntime
from calcinosis.smart.scopes import Granted, LaunchKind, requested_scopes
from calcinosis.smart.sessions import Launch, Pending, Session, new_handle

log = logging.getLogger("calcinosis.smart")

SERVICE = "smart-launch"
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


@dataclass
class LiveResult:
    assessment: Assessment
    raw: bytes
    report: ReadReport


async def begin(
    state: AppState,
    rt: SmartRuntime,
    session: Session,
    *,
    iss: str | None,
    launch: str | None,
    kind: LaunchKind,
    base: str,
) -> str:
    """Check the EHR, remember the authorization in the session, and return the EHR's authorization URL."""
    issuer = allowed_iss(iss, rt.allowed_iss)  # before any request: an unknown iss is never fetched
    config = await discover(state.http, issuer, rt.timeout_s)
    _check_client_auth(config, rt)
    redirect_uri = f"{base}/smart/callback"
    scopes = requested_scopes(kind)
    assert rt.client_id is not None  # noqa: S101 - routes check rt.enabled first
    url, st, verifier = oauth.authorization_url(
        config, client_id=rt.client_id, redirect_uri=redirect_uri, scopes=scopes, aud=issuer, launch=launch
    )
    session.add_pending(Pending(st, verifier, issuer, kind, config, redirect_uri, scopes))
    return url


def _check_client_auth(config: SmartConfiguration, rt: SmartRuntime) -> None:
    methods = config.token_endpoint_auth_methods_supported
    if rt.key is not None:
        if methods and "private_key_jwt" not in methods:
            raise EhrError(
                "The EHR does not accept private_key_jwt client authentication, which this app is set up for."
            )
        algs = config.token_endpoint_auth_signing_alg_values_supported
        if algs and rt.key.alg not in algs:
            raise EhrError(
                f"The EHR does not accept {rt.key.alg} client assertions (it lists {', '.join(algs)})."
            )


async def complete(
    state: AppState, rt: SmartRuntime, session: Session, pending: Pending, code: str
) -> Launch:
    """Take the token for ``code``, check its patient, and read and assess the record."""
    assert rt.client_id is not None  # noqa: S101
    token = await oauth.exchange_code(
        pending.config,
        client_id=rt.client_id,
        key=rt.key,
        redirect_uri=pending.redirect_uri,
        code=code,
        verifier=pending.verifier,
        timeout_s=rt.timeout_s,
    )
    patient = token.get("patient")
    if not isinstance(patient, str) or not FHIR_ID.match(patient):
        raise EhrError(
            "The EHR did not say which patient this launch is for (no patient in the token response)."
        )
    context = parse_app_context(token.get("appContext"))
    if context.patient is not None and context.patient != patient:
        raise PatientMismatch(
            "The EHR gave this app access to a different patient than the one the card was about, so nothing "
            "was read. Launch the app again from the patient's record."
        )
    fhir_user: str | None = None
    if isinstance(token.get("id_token"), str):
        claims = await oauth.verify_id_token(
            state.http, pending.config, token["id_token"], rt.client_id, rt.timeout_s
        )
        fhir_user = claims.get("fhirUser") if isinstance(claims.get("fhirUser"), str) else None
    launch = Launch(
        handle=new_handle(),
        iss=pending.iss,
        kind=pending.kind,
        config=pending.config,
        token=token,
        patient=patient,
        fhir_user=fhir_user,
        granted=Granted.parse(token.get("scope")).scopes,
        focus=context.focus,
    )
    launch.result = await read_and_assess(state, rt, launch)
    session.add_launch(launch)
    return launch


async def read_and_assess(state: AppState, rt: SmartRuntime, launch: Launch) -> LiveResult:
    """Read the record with the launch's token (refreshed by Authlib when it has expired and a refresh
    token was given), assess it, and write the audit record."""

    async def keep_token(token: dict[str, Any], **_: Any) -> None:
        renewed = token.get("patient")
        if renewed is not None and renewed != launch.patient:
            raise PatientMismatch("The EHR renewed access for a different patient; nothing was read.")
        launch.token = dict(token)

    assert rt.client_id is not None  # noqa: S101
    async with oauth.oauth_client(
        launch.config,
        client_id=rt.client_id,
        key=rt.key,
        timeout_s=rt.timeout_s,
        token=launch.token,
        update_token=keep_token,
    ) as client:
        resources, report = await read_record(
            client,
            iss=launch.iss,
            patient=launch.patient,
            granted=Granted(launch.granted),
            timeout_s=rt.timeout_s,
            max_pages=rt.max_pages,
        )
    raw = orjson.dumps(as_bundle(resources, report), option=orjson.OPT_INDENT_2)
    done = await assess_and_record(
        raw,
        pack=state.pack,
        store=state.store,
        runner=state.threads,
        origin=Origin("rest", SERVICE, launch.iss, launch.fhir_user),
        status="complete" if report.complete else "degraded",
        beside={"smart": launch_record(launch, report, resources)},
    )
    log.info(
        "smart %s launch read %d resources (%d types not fully read)",
        launch.kind,
        report.total,
        len(report.not_read),
    )
    return LiveResult(done.assessment, raw, report)


def launch_record(launch: Launch, report: ReadReport, resources: list[dict[str, Any]]) -> dict[str, Any]:
    """The audit's account of a launch: who (``fhirUser``), which patient (its id at the EHR, as every
    audit record names patients), which scopes, and which resources were read."""
    return {
        "kind": launch.kind,
        "iss": launch.iss,
        "fhirUser": launch.fhir_user,
        "patient": launch.patient,
        "scopes": list(launch.granted),
        "read": report.as_json(),
        "resources": sorted(f"{r['resourceType']}/{r['id']}" for r in resources),
    }


def now_text() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
