"""``POST /assess``: one patient (native case JSON or a FHIR Bundle/resource) to an assessment.

JSON out by default; a FHIR Bundle when the caller sends ``Accept: application/fhir+json``. Every
assessment served is recorded in the audit trail before the response is sent.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from calcinosis.api.body import check_json_type
from calcinosis.api.outcome import FHIR_JSON
from calcinosis.casework import Origin, assess_and_record
from calcinosis.engine.results import Assessment
from calcinosis.errors import InputError
from calcinosis.limits import Limits
from calcinosis.server.state import CallerDep, StateDep

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
    done = await assess_and_record(
        raw,
        pack=state.pack,
        store=state.store,
        runner=state.threads,
        origin=Origin("rest", "assess", caller.iss, caller.client),
        as_of=as_of,
        limits=Limits.of(state.settings),
    )
    out, media = done.body, "application/json"
    if _wants_fhir(request):
        from calcinosis.fhir.guidance import assessment_to_bundle

        out, media = assessment_to_bundle(done.assessment), FHIR_JSON
    return Response(orjson.dumps(out), media_type=media, headers={"X-Request-Id": done.request_id})
