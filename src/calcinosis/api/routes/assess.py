"""``POST /assess``: one patient (native case JSON or a FHIR Bundle/resource) to an assessment.

JSON out by default; a FHIR Bundle when the caller sends ``Accept: application/fhir+json``. Every
assessment served is recorded in the audit trail before the response is sent.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import anyio
import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from calcinosis.api.body import check_json_type
from calcinosis.api.deps import CallerDep, StateDep
from calcinosis.api.outcome import FHIR_JSON
from calcinosis.cdshooks.compute import digest
from calcinosis.engine import assess
from calcinosis.engine.results import Assessment
from calcinosis.errors import InputError
from calcinosis.inputs import decode_json, read_patient
from calcinosis.limits import Limits
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.store import AuditEntry

router = APIRouter(tags=["assessment"])

JSON_TYPES = ("application/json", FHIR_JSON)
BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A native case (docs/case-format.md) or a FHIR R4 Bundle / single resource.",
        "content": {
            t: {
                "schema": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/Case"},
                        {"$ref": "#/components/schemas/FhirInput"},
                    ]
                }
            }
            for t in JSON_TYPES
        },
    }
}


def _wants_fhir(request: Request) -> bool:
    return "application/fhir+json" in request.headers.get("accept", "").lower()


def run(
    raw: bytes, as_of: dt.date | None, pack: KnowledgePack, limits: Limits | None = None
) -> tuple[Assessment, str]:
    data = decode_json(raw, "body", limits)
    try:
        case, issues = read_patient(data, as_of=as_of)
    except InputError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise InputError(f"body could not be read as a case or FHIR input ({type(exc).__name__})") from exc
    return assess(case, pack, issues=issues, as_of=as_of), digest(case.model_dump(mode="json"))


@router.post(
    "/assess",
    response_model=Assessment,
    summary="Assess one patient",
    openapi_extra=BODY_DOC,
    responses={
        200: {
            "content": {FHIR_JSON: {"schema": {"type": "object"}}},
            "description": "Assessment (JSON or FHIR)",
        },
        401: {"description": "Caller not authenticated (bare)"},
        413: {"description": "Body too large (OperationOutcome)"},
        415: {"description": "Body is not JSON (OperationOutcome)"},
        422: {"description": "Input cannot be used (OperationOutcome)"},
    },
)
async def assess_patient(
    request: Request,
    state: StateDep,
    caller: CallerDep,
    as_of: Annotated[
        dt.date | None, Query(description="Assess as of this date (default: from the data)")
    ] = None,
) -> Response:
    check_json_type(request)
    raw = await request.body()
    if not raw:
        raise InputError("body: empty; send a case or a FHIR Bundle")
    limits = Limits.of(state.settings)
    assessment, input_hash = await state.threads.run(run, raw, as_of, state.pack, limits)
    body: dict[str, Any] = assessment.model_dump(mode="json")
    out, media = body, "application/json"
    if _wants_fhir(request):
        from calcinosis.fhir.guidance import assessment_to_bundle

        out, media = assessment_to_bundle(assessment), FHIR_JSON
    request_id = str(uuid.uuid4())
    entry = AuditEntry(
        request_id=request_id,
        channel="rest",
        service="assess",
        caller_iss=caller.iss,
        caller_client=caller.client,
        pack_version=state.pack.meta.version,
        pack_hash=state.pack.content_hash,
        input_hash=input_hash,
        output=body,
    )
    await anyio.to_thread.run_sync(state.store.write_audit, entry)
    return Response(orjson.dumps(out), media_type=media, headers={"X-Request-Id": request_id})
