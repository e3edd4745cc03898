"""CDS Hooks 2.0 endpoints: discovery, the services, feedback, and HTI-1 source attributes.

Every call is authenticated (the EHR's JWT, or an unsigned loopback call when no issuer is trusted);
any authentication failure is a bare 401.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import anyio
import orjson
from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from calcinosis.api.body import json_body, validated
from calcinosis.api.deps import CallerDep, StateDep, base_url
from calcinosis.cdshooks import attributes, discovery, feedback, services
from calcinosis.cdshooks.models import FeedbackRequest, HookRequest
from calcinosis.limits import Limits

router = APIRouter(prefix="/cds-services", tags=["cds-hooks"])

ServiceId = Annotated[
    str,
    Path(
        max_length=100,
        description="CDS service id (one of those discovery lists; any other is a 404)",
        json_schema_extra={"examples": [s.id for s in discovery.SERVICES]},
    ),
]
FEEDBACK_ON_FIRST_CARD: dict[str, Any] = {
    "feedback": [
        {
            "card": "$response.body#/cards/0/uuid",
            "outcome": "overridden",
            "overrideReason": {"userComment": "not applicable to this patient"},
            "outcomeTimestamp": "2026-01-01T00:00:00Z",
        }
    ]
}
# OpenAPI links: what a client can do next with an answer (and what stateful fuzzing follows)
CALL_LINKS: dict[str, Any] = {
    "FeedbackOnFirstCard": {
        "operationId": "cds_feedback",
        "parameters": {"service_id": "$request.path.service_id"},
        "requestBody": FEEDBACK_ON_FIRST_CARD,
        "description": "Feedback on the first card returned, by its uuid",
    },
    "FeedbackSummary": {
        "operationId": "cds_feedback_summary",
        "parameters": {"service_id": "$request.path.service_id"},
    },
}
DISCOVERY_LINKS: dict[str, Any] = {
    "CallFirstService": {
        "operationId": "cds_call",
        "parameters": {"service_id": "$response.body#/services/0/id"},
    },
}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Request malformed (OperationOutcome)"},
    401: {"description": "Caller not authenticated (bare)"},
    404: {"description": "No such service (OperationOutcome)"},
    413: {"description": "Body larger than the limit (OperationOutcome)"},
    415: {"description": "Body is not JSON (OperationOutcome)"},
    422: {"description": "Over a limit: depth, resources, list items, text length (OperationOutcome)"},
}


def _body_doc(model: str) -> dict[str, Any]:
    """The request body as documented (the route reads and validates it itself, strictly)."""
    schema = {"$ref": f"#/components/schemas/{model}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


@router.get(
    "",
    summary="CDS Hooks discovery",
    operation_id="cds_discovery",
    responses={200: {"description": "The services", "links": DISCOVERY_LINKS}, 401: ERRORS[401]},
)
async def discover(request: Request, state: StateDep, _caller: CallerDep) -> dict[str, Any]:
    return discovery.discovery(base_url(request, state.settings)).wire()


@router.post(
    "/{service_id}",
    summary="Call a CDS service",
    operation_id="cds_call",
    openapi_extra=_body_doc("HookRequest"),
    responses={
        200: {"description": "Cards (CDS Hooks response)", "links": CALL_LINKS},
        **ERRORS,
        412: {"description": "Required data neither prefetched nor fetchable (OperationOutcome)"},
    },
)
async def call_service(
    service_id: ServiceId, request: Request, state: StateDep, caller: CallerDep
) -> Response:
    started = time.monotonic()
    spec = discovery.service(service_id)
    body = validated(HookRequest, await json_body(request, Limits.of(state.settings), fhir=True))
    deps = services.HookDeps(
        state.settings,
        state.pack,
        state.store,
        state.http,
        base_url(request, state.settings),
        state.card_cache,
        state.engine,
    )
    out, request_id = await services.call(spec, body, caller, deps, started=started)
    return Response(orjson.dumps(out), media_type="application/json", headers={"X-Request-Id": request_id})


@router.post(
    "/{service_id}/feedback",
    summary="Feedback on cards (accepted / overridden)",
    operation_id="cds_feedback",
    openapi_extra=_body_doc("FeedbackRequest"),
    responses=ERRORS,
)
async def post_feedback(
    service_id: ServiceId, request: Request, state: StateDep, caller: CallerDep
) -> dict[str, Any]:
    spec = discovery.service(service_id)
    body = validated(FeedbackRequest, await json_body(request, Limits.of(state.settings)))
    entries = feedback.to_entries(spec.id, body, caller.iss)
    await anyio.to_thread.run_sync(state.store.write_feedback, entries)
    return {"received": len(entries)}


@router.get(
    "/{service_id}/feedback/summary",
    summary="Acceptance and override rates",
    operation_id="cds_feedback_summary",
    responses=ERRORS,
)
async def feedback_summary(service_id: ServiceId, state: StateDep, _caller: CallerDep) -> dict[str, Any]:
    spec = discovery.service(service_id)
    tallies = await anyio.to_thread.run_sync(state.store.feedback_summary, spec.id)
    return {"service": spec.id, **feedback.summary_json(tallies)}


@router.get(
    "/{service_id}/source-attributes",
    summary="ONC HTI-1 source attributes of this decision support intervention",
    operation_id="cds_source_attributes",
    responses={404: ERRORS[404]},
)
async def source_attributes(service_id: ServiceId, request: Request, state: StateDep) -> dict[str, Any]:
    spec = discovery.service(service_id)
    return attributes.source_attributes(
        spec, state.pack, state.settings.funding_source, base_url(request, state.settings)
    )
