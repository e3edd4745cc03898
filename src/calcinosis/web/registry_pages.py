"""The registry on the patient page (``/patients/{id}``): a timeline, the courses with their computed
responses, the visits, and forms to add a visit, start or stop a course, record an adverse event, store the
patient's facts and assess again with the history. Forms are CSRF-protected (``csrf.py``), loopback-only
like the page itself, and each write is one committed transaction; a refused form comes back with the
reason (HTTP 422, a duplicate included) and nothing written.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Path, Request
from starlette.datastructures import UploadFile
from starlette.responses import HTMLResponse, RedirectResponse, Response

from calcinosis.casework import Origin, audit_entry, digest, record
from calcinosis.engine.results import Assessment
from calcinosis.errors import CalcinosisError, InputError, NotFoundError
from calcinosis.pack.models import SubtypeCode
from calcinosis.registry import Registry
from calcinosis.registry.evidence import LocalEvidence, local_evidence_by_subtype
from calcinosis.registry.records import (
    MEASURED,
    STOP_REASONS_TEXT,
    AdverseEventIn,
    CourseStart,
    CourseStop,
    MeasurementRecord,
    VisitIn,
    parse,
)
from calcinosis.registry.summary import PatientSummary, next_assessment, patient_summary
from calcinosis.registry.text import facts_of
from calcinosis.server.security import is_loopback
from calcinosis.server.state import AppState, StateDep, registry_of
from calcinosis.web import csrf
from calcinosis.web.render import page
from calcinosis.web.timeline import CourseBar, timeline_svg

router = APIRouter(include_in_schema=False)

ID_PATTERN = r"[A-Za-z0-9\-.]{1,64}"  # the registry's pseudonymous ids (records.PatientId)
PatientId = Annotated[str, Path(pattern=f"^{ID_PATTERN}$")]
CourseId = Annotated[int, Path(ge=1, le=2**31 - 1)]
WEB = "web-pages"
FINDINGS = ("ulceration", "inflammation", "infection", "new_lesions")
SEVERITIES = ("mild", "moderate", "severe", "life-threatening")
NOT_LOOPBACK = "Patient pages and their forms are served only to this machine (loopback clients)."


def _who(request: Request) -> str:
    host = request.client.host if request.client else "unknown"
    return f"{WEB} {host}"


def _allowed(request: Request, state: AppState) -> bool:
    return state.settings.patient_pages_open or is_loopback(request.client.host if request.client else None)


def _bars(summary: PatientSummary, names: dict[str, str]) -> list[CourseBar]:
    return [
        CourseBar(
            course=v.course,
            name=names.get(v.course.therapy, v.course.therapy),
            events=v.adverse_events,
            response=v.response.category if v.response else None,
        )
        for v in summary.courses
    ]


def findings_text(m: MeasurementRecord) -> str:
    """'ulceration; no inflammation' for the findings a visit recorded (yes or no), in a fixed order."""
    said = [(f, getattr(m, f)) for f in FINDINGS if getattr(m, f) is not None]
    return "; ".join(("" if value else "no ") + f.replace("_", " ") for f, value in said)


def _load(registry: Registry, patient_id: str) -> PatientSummary | None:
    try:
        return patient_summary(registry, patient_id)
    except NotFoundError:
        return None


async def registry_panel(
    request: Request,
    state: AppState,
    patient_id: str,
    assessment: Assessment | None,
    *,
    error: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The template context of the registry panel (``known`` is false for a patient not in the registry)."""
    valid_id = re.fullmatch(ID_PATTERN, patient_id) is not None
    registry = await registry_of(request)
    summary = await anyio.to_thread.run_sync(_load, registry, patient_id) if valid_id else None
    names = {t.id: t.name for t in state.pack.therapies.values()}
    chart = None
    if summary is not None and (summary.visits or summary.courses):
        chart = timeline_svg(summary.visits, _bars(summary, names), f"Timeline of {patient_id}")
    default_subtype = assessment.subtype.code.value if assessment is not None else None
    return {
        "patient_id": patient_id,
        "valid_id": valid_id,
        "known": summary is not None,
        "summary": summary,
        "chart": chart,
        "therapy_choices": sorted(names.items(), key=lambda kv: kv[1].lower()),
        "therapy_names": names,
        "subtypes": [s.value for s in SubtypeCode],
        "default_subtype": default_subtype,
        "stop_reasons": STOP_REASONS_TEXT,
        "severities": SEVERITIES,
        "findings": FINDINGS,
        "findings_text": findings_text,
        "today": dt.date.today().isoformat(),
        "csrf_field": csrf.FIELD,
        "csrf": csrf.token_for(request),
        "error": error,
    }


async def local_rows(request: Request, therapy_id: str) -> list[LocalEvidence] | None:
    """This clinic's courses of a therapy per subtype, or None when the registry cannot be read (the page
    still shows the published evidence)."""
    try:
        registry = await registry_of(request)
        return await anyio.to_thread.run_sync(local_evidence_by_subtype, registry, therapy_id)
    except CalcinosisError:
        return None


def _form_dict(form: Any) -> dict[str, str]:
    return {k: v.strip() for k, v in form.multi_items() if isinstance(v, str) and v.strip()}


async def _refused(
    request: Request, state: AppState, patient_id: str, which: str, exc: CalcinosisError
) -> Response:
    from calcinosis.web.views import patient_response  # the page itself lives with the other pages

    status = 422 if exc.http_status < 500 else 503  # a form sent back with its reason, as the assess form
    return await patient_response(request, state, patient_id, error=(which, str(exc)), status=status)


def _forbidden(request: Request, message: str) -> HTMLResponse:
    return page(
        request, "error.html", {"status": 403, "message": message, "title": "Not available here"}, status=403
    )


async def _guarded_form(request: Request, state: AppState) -> dict[str, str] | Response:
    if not _allowed(request, state):
        return _forbidden(request, NOT_LOOPBACK)
    async with request.form(max_files=1, max_fields=60) as form:
        fields = _form_dict(form)
        upload = form.get("file")
        if isinstance(upload, UploadFile):
            fields["__file__"] = (await upload.read()).decode("utf-8", errors="replace")
    if not csrf.valid(request, fields.pop(csrf.FIELD, None)):
        return _forbidden(
            request, "This form has expired or came from another site. Reload the page and send it again."
        )
    return fields


def _back(patient_id: str, anchor: str = "registry") -> RedirectResponse:
    return RedirectResponse(f"/patients/{patient_id}#{anchor}", status_code=303)


def _visit(fields: dict[str, str]) -> VisitIn:
    measured: dict[str, Any] = {
        k: fields[k] for k in ("site", "note", *MEASURED) if k in fields and k not in FINDINGS
    }
    for finding in FINDINGS:
        value = fields.get(finding)
        if value in ("yes", "no"):
            measured[finding] = value == "yes"
    data = {"date": fields.get("date"), "course": fields.get("course") or None, "measurements": [measured]}
    return parse(VisitIn, data, "visit")


@router.post("/patients/{patient_id}/registry/visits")
async def add_visit(patient_id: PatientId, request: Request, state: StateDep) -> Response:
    fields = await _guarded_form(request, state)
    if isinstance(fields, Response):
        return fields
    try:
        visit = _visit(fields)
        registry = await registry_of(request)
        await anyio.to_thread.run_sync(registry.add_visit, patient_id, visit, _who(request))
    except CalcinosisError as exc:
        return await _refused(request, state, patient_id, "visit", exc)
    return _back(patient_id, "timeline")


@router.post("/patients/{patient_id}/registry/courses")
async def start_course(patient_id: PatientId, request: Request, state: StateDep) -> Response:
    fields = await _guarded_form(request, state)
    if isinstance(fields, Response):
        return fields
    keys = ("therapy", "subtype", "agent", "dose", "route", "start", "note")
    try:
        course = parse(CourseStart, {k: fields[k] for k in keys if k in fields}, "course")
        registry = await registry_of(request)
        await anyio.to_thread.run_sync(registry.start_course, patient_id, course, _who(request))
    except CalcinosisError as exc:
        return await _refused(request, state, patient_id, "course", exc)
    return _back(patient_id, "registry-courses")


@router.post("/patients/{patient_id}/registry/courses/{course_id}/stop")
async def stop_course(
    patient_id: PatientId, course_id: CourseId, request: Request, state: StateDep
) -> Response:
    fields = await _guarded_form(request, state)
    if isinstance(fields, Response):
        return fields
    try:
        stop = parse(CourseStop, {"stop": fields.get("stop"), "reason": fields.get("reason")}, "stop")
        registry = await registry_of(request)
        course = await anyio.to_thread.run_sync(registry.course, course_id)
        if course.patient_id != patient_id:
            raise InputError(f"course {course_id} belongs to another patient")
        await anyio.to_thread.run_sync(registry.stop_course, course_id, stop, _who(request))
    except CalcinosisError as exc:
        return await _refused(request, state, patient_id, f"stop-{course_id}", exc)
    return _back(patient_id, "registry-courses")


@router.post("/patients/{patient_id}/registry/adverse-events")
async def add_event(patient_id: PatientId, request: Request, state: StateDep) -> Response:
    fields = await _guarded_form(request, state)
    if isinstance(fields, Response):
        return fields
    try:
        if not fields.get("course", "").isdigit():
            raise InputError("adverse_event.course: choose the course it happened on")
        course_id = int(fields["course"])
        event = parse(
            AdverseEventIn,
            {k: fields[k] for k in ("date", "description", "severity") if k in fields},
            "adverse_event",
        )
        registry = await registry_of(request)
        course = await anyio.to_thread.run_sync(registry.course, course_id)
        if course.patient_id != patient_id:
            raise InputError(f"course {course_id} belongs to another patient")
        await anyio.to_thread.run_sync(registry.add_adverse_event, course_id, event, _who(request))
    except CalcinosisError as exc:
        return await _refused(request, state, patient_id, "event", exc)
    return _back(patient_id, "registry-courses")


@router.post("/patients/{patient_id}/registry/facts")
async def store_facts(patient_id: PatientId, request: Request, state: StateDep) -> Response:
    fields = await _guarded_form(request, state)
    if isinstance(fields, Response):
        return fields
    from calcinosis.inputs import decode_json

    try:
        raw = fields.get("__file__", "")
        if not raw.strip():
            raise InputError("facts: choose a case JSON or FHIR file")
        facts = facts_of(decode_json(raw, "facts"))
        registry = await registry_of(request)
        await anyio.to_thread.run_sync(registry.register_patient, patient_id, _who(request), facts)
    except CalcinosisError as exc:
        return await _refused(request, state, patient_id, "facts", exc)
    return _back(patient_id)


@router.post("/patients/{patient_id}/registry/assess")
async def assess_again(patient_id: PatientId, request: Request, state: StateDep) -> Response:
    """Assess the stored facts with every course and visit, record it in the audit trail, show it."""
    fields = await _guarded_form(request, state)
    if isinstance(fields, Response):
        return fields
    try:
        registry = await registry_of(request)
        assessment = await anyio.to_thread.run_sync(next_assessment, registry, patient_id)
        case = await anyio.to_thread.run_sync(registry.case_of, patient_id)
    except CalcinosisError as exc:
        return await _refused(request, state, patient_id, "assess", exc)
    entry = audit_entry(
        Origin("rest", "web-registry-assess", caller_client=WEB),
        state.pack,
        digest(case.model_dump(mode="json")),
        assessment.model_dump(mode="json"),
    )
    await record(state.store, entry)
    return _back(patient_id, "therapy-title")
