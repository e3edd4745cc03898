"""The treatment registry over REST (docs/registry.md), under the same caller rules as ``POST /assess``.

Every write runs in one transaction and is answered only after it committed; bad input is a 4xx with an
OperationOutcome and writes nothing. The registry is opened (and migrated) with the app and closed with it;
when its database is unreachable the routes answer 503 and the next call tries again.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from pydantic import BaseModel

from calcinosis.api.body import UnsupportedMedia, json_body, validated
from calcinosis.errors import StoreError
from calcinosis.inputs import decode_json
from calcinosis.limits import Limits
from calcinosis.registry import Registry
from calcinosis.registry.evidence import LocalEvidence, local_evidence, local_evidence_by_subtype
from calcinosis.registry.records import (
    AdverseEventIn,
    AdverseEventRecord,
    Correction,
    CourseRecord,
    CourseStart,
    CourseStop,
    MeasurementRecord,
    PatientRecord,
    Revision,
    VisitIn,
)
from calcinosis.registry.summary import PatientSummary, patient_summary
from calcinosis.registry.text import facts_of
from calcinosis.server.security import Caller
from calcinosis.server.state import AppState, CallerDep, StateDep, open_app_registry, registry_of
from calcinosis.store.base import assessment_in

log = logging.getLogger("calcinosis.api")


def _load_demo(registry: Registry) -> None:
    """``--demo``: the demo patients' courses and visits (their facts are the shipped demo cases)."""
    try:
        from calcinosis.web.demo import load_demo_patients
    except ModuleNotFoundError:  # the web pages are not installed: no demo cases
        return
    from calcinosis.registry.demo import load_demo

    loaded = load_demo(registry, {p.id: p.data for p in load_demo_patients()})
    if loaded:
        log.info("demo: loaded registry courses and visits for %s", ", ".join(loaded))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.registry = None
    try:
        registry = await anyio.to_thread.run_sync(open_app_registry, app)
        if app.state.calcinosis.settings.demo:
            await anyio.to_thread.run_sync(_load_demo, registry)
    except StoreError as exc:
        log.error("registry not available at start (%s); routes will retry", exc)
    try:
        yield
    finally:
        opened: Registry | None = app.state.registry
        app.state.registry = None
        if opened is not None:
            await anyio.to_thread.run_sync(opened.close)


RegistryDep = Annotated[Registry, Depends(registry_of)]
router = APIRouter(prefix="/registry", tags=["registry"], lifespan=lifespan)

PatientIdPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9\-.]{1,64}$", description="Pseudonymous patient id (as assessments carry)")
]
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ReasonQuery = Annotated[
    str, Query(min_length=3, max_length=500, pattern=r"^[^\x00]*$", description="Why (kept in the history)")
]
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Request shape invalid (OperationOutcome)"},
    401: {"description": "Caller not authenticated (bare)"},
    404: {"description": "Unknown patient, course, record or therapy (OperationOutcome)"},
    409: {"description": "Already recorded, e.g. a visit on the same date and site (OperationOutcome)"},
    422: {"description": "Input cannot be used (OperationOutcome); nothing was written"},
    503: {"description": "The registry database failed; nothing was acknowledged (OperationOutcome)"},
}


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its ``$defs`` written in place (a request body schema stands alone)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return walk({**defs[ref.removeprefix("#/$defs/")], **rest})
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    out: dict[str, Any] = walk(schema)
    return out


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """The request body as documented (the route reads it strictly itself: ``api/body.py``)."""
    schema = _inline(model.model_json_schema())
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def who(caller: Caller) -> str:
    """How the registry records the caller: issuer and client, as the audit trail names them."""
    text = f"{caller.iss or 'unsigned'} {caller.client or '-'}"
    return "".join(ch for ch in text if ch.isprintable())[:200]


def _subtype_hint(state: AppState, patient_id: str) -> tuple[str, str] | None:
    record = state.store.latest_for_patient(patient_id)
    if record is None:
        return None
    code = assessment_in(record.output).get("subtype", {}).get("code")
    return (code, f"latest assessment ({record.recorded_at:%Y-%m-%d})") if isinstance(code, str) else None


@router.get("/patients", summary="Patient ids in the registry", responses=ERRORS)
async def patients(
    registry: RegistryDep,
    _caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    after: Annotated[str, Query(max_length=64)] = "",
) -> list[str]:
    ids = await anyio.to_thread.run_sync(registry.patient_ids)
    return [p for p in ids if p > after][:limit]


FACTS_DOC: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "description": "Optional: the patient's facts as a native case or FHIR R4 (courses and measurements in "
        "it are ignored: the registry's own are the record). Decoded as strictly as POST /assess.",
        "content": {
            t: {
                "schema": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/Case"},
                        {"$ref": "#/components/schemas/FhirInput"},
                    ]
                }
            }
            for t in ("application/json", "application/fhir+json")
        },
    }
}


@router.put(
    "/patients/{patient_id}",
    summary="Register a patient (and store its facts)",
    responses=ERRORS,
    openapi_extra=FACTS_DOC,
)
async def put_patient(
    patient_id: PatientIdPath, request: Request, state: StateDep, registry: RegistryDep, caller: CallerDep
) -> PatientRecord:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if raw.strip() and ctype and ctype != "application/json" and not ctype.endswith("+json"):
        raise UnsupportedMedia("the body must be JSON (application/json or application/fhir+json)")
    stored = facts_of(decode_json(raw, "body", Limits.of(state.settings))) if raw.strip() else None
    return await anyio.to_thread.run_sync(registry.register_patient, patient_id, who(caller), stored)


@router.get(
    "/patients/{patient_id}", summary="Courses, visits, responses and the next history", responses=ERRORS
)
async def get_patient(patient_id: PatientIdPath, registry: RegistryDep, _caller: CallerDep) -> PatientSummary:
    return await anyio.to_thread.run_sync(patient_summary, registry, patient_id)


@router.get(
    "/patients/{patient_id}/history", summary="Corrections and deletions, with old values", responses=ERRORS
)
async def history(patient_id: PatientIdPath, registry: RegistryDep, _caller: CallerDep) -> list[Revision]:
    await anyio.to_thread.run_sync(registry.patient, patient_id)
    return await anyio.to_thread.run_sync(registry.history, patient_id)


@router.post(
    "/patients/{patient_id}/courses",
    status_code=201,
    summary="Start a course",
    responses=ERRORS,
    openapi_extra=body_doc(CourseStart),
)
async def start_course(
    patient_id: PatientIdPath, request: Request, state: StateDep, registry: RegistryDep, caller: CallerDep
) -> CourseRecord:
    course = validated(CourseStart, await json_body(request, Limits.of(state.settings)))
    hint = (
        await anyio.to_thread.run_sync(_subtype_hint, state, patient_id) if course.subtype is None else None
    )
    return await anyio.to_thread.run_sync(registry.start_course, patient_id, course, who(caller), hint)


@router.get("/patients/{patient_id}/courses", summary="A patient's courses", responses=ERRORS)
async def list_courses(
    patient_id: PatientIdPath, registry: RegistryDep, _caller: CallerDep
) -> list[CourseRecord]:
    return await anyio.to_thread.run_sync(registry.courses, patient_id)


@router.post(
    "/courses/{course_id}/stop",
    summary="Stop a course, with the reason",
    responses=ERRORS,
    openapi_extra=body_doc(CourseStop),
)
async def stop_course(
    course_id: RecordId, request: Request, state: StateDep, registry: RegistryDep, caller: CallerDep
) -> CourseRecord:
    stop = validated(CourseStop, await json_body(request, Limits.of(state.settings)))
    return await anyio.to_thread.run_sync(registry.stop_course, course_id, stop, who(caller))


@router.post(
    "/courses/{course_id}/adverse-events",
    status_code=201,
    summary="Record an adverse event",
    responses=ERRORS,
    openapi_extra=body_doc(AdverseEventIn),
)
async def add_event(
    course_id: RecordId, request: Request, state: StateDep, registry: RegistryDep, caller: CallerDep
) -> AdverseEventRecord:
    event = validated(AdverseEventIn, await json_body(request, Limits.of(state.settings)))
    return await anyio.to_thread.run_sync(registry.add_adverse_event, course_id, event, who(caller))


@router.post(
    "/patients/{patient_id}/visits",
    status_code=201,
    summary="Record a visit",
    responses=ERRORS,
    openapi_extra=body_doc(VisitIn),
)
async def add_visit(
    patient_id: PatientIdPath, request: Request, state: StateDep, registry: RegistryDep, caller: CallerDep
) -> list[MeasurementRecord]:
    visit = validated(VisitIn, await json_body(request, Limits.of(state.settings)))
    return await anyio.to_thread.run_sync(registry.add_visit, patient_id, visit, who(caller))


@router.get("/patients/{patient_id}/visits", summary="A patient's visit measurements", responses=ERRORS)
async def list_visits(
    patient_id: PatientIdPath, registry: RegistryDep, _caller: CallerDep
) -> list[MeasurementRecord]:
    return await anyio.to_thread.run_sync(registry.measurements, patient_id)


ENTITIES = {"courses": "course", "measurements": "measurement", "adverse-events": "adverse_event"}
Kind = Annotated[str, Path(pattern="^(courses|measurements|adverse-events)$")]


@router.patch(
    "/{kind}/{record_id}",
    summary="Correct a course, measurement or adverse event",
    responses=ERRORS,
    openapi_extra=body_doc(Correction),
)
async def correct(
    kind: Kind,
    record_id: RecordId,
    request: Request,
    state: StateDep,
    registry: RegistryDep,
    caller: CallerDep,
) -> CourseRecord | MeasurementRecord | AdverseEventRecord:
    correction = validated(Correction, await json_body(request, Limits.of(state.settings)))
    result: CourseRecord | MeasurementRecord | AdverseEventRecord = await anyio.to_thread.run_sync(
        registry.correct, ENTITIES[kind], record_id, correction.changes, correction.reason, who(caller)
    )
    return result


@router.delete(
    "/{kind}/{record_id}", summary="Delete a record entered in error (kept in the history)", responses=ERRORS
)
async def delete(
    kind: Kind, record_id: RecordId, reason: ReasonQuery, registry: RegistryDep, caller: CallerDep
) -> dict[str, Any]:
    await anyio.to_thread.run_sync(registry.delete, ENTITIES[kind], record_id, reason, who(caller))
    return {"deleted": ENTITIES[kind], "id": record_id, "kept_in_history": True}


@router.get(
    "/evidence/{therapy_id}", summary="This clinic's courses of a therapy (local evidence)", responses=ERRORS
)
async def evidence(
    therapy_id: Annotated[str, Path(max_length=100)],
    registry: RegistryDep,
    _caller: CallerDep,
    subtype: Annotated[
        str | None, Query(max_length=32, description="One subtype (default: one row per subtype)")
    ] = None,
) -> list[LocalEvidence]:
    if subtype is not None:
        return [await anyio.to_thread.run_sync(local_evidence, registry, therapy_id, subtype)]
    return await anyio.to_thread.run_sync(local_evidence_by_subtype, registry, therapy_id)
