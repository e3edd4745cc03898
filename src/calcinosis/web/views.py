"""Clinician pages: ``router`` is mounted by :func:`calcinosis.api.create_app`.

Pages: ``/`` (assess: form, upload, demo patients), result pages (``POST /assess/form``,
``POST /assess/upload``, ``GET /assess/demo/{id}``), the latest recorded assessment of a patient
(``GET /patients/{id}``, the page CDS Hooks cards link to; loopback clients only unless
``patient_pages_open``), ``POST /plan.pdf``, ``/evidence`` (the ladder, per
setting at ``/evidence/settings/{id}``, per therapy at ``/evidence/therapies/{id}``), ``/about`` and
``/static/{name}``. Errors on a page are shown as a page (never a traceback).
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from typing import Annotated, Any

import anyio
import orjson
from fastapi import APIRouter, Path, Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.responses import HTMLResponse, Response

from calcinosis.casework import Origin, assess_and_record
from calcinosis.engine.results import Assessment
from calcinosis.errors import InputError, NotFoundError, StoreError
from calcinosis.limits import Limits
from calcinosis.registry.demo import DEMOS as DEMO_TIMELINES
from calcinosis.registry.evidence import SMALL_NUMBERS
from calcinosis.server.security import is_loopback
from calcinosis.server.state import RETRY_AFTER_S, AppState, StateDep
from calcinosis.store.base import assessment_in
from calcinosis.web import choices, csrf
from calcinosis.web.demo import find_demo, load_demo_patients
from calcinosis.web.evidence import ladder_rows, therapy_page
from calcinosis.web.form import FormState, blank_state, read_form
from calcinosis.web.pdf import plan_pdf
from calcinosis.web.present import alerts_for, caution_groups, study_rows
from calcinosis.web.registry_pages import local_rows, registry_panel
from calcinosis.web.registry_pages import router as registry_router
from calcinosis.web.render import SECURITY_HEADERS, page

router = APIRouter(include_in_schema=False)
router.include_router(registry_router)  # the registry forms of the patient page (registry_pages.py)

Slug = Annotated[str, Path(max_length=100, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
PatientId = Annotated[str, Path(min_length=1, max_length=256)]
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
MAX_FORM_FIELDS = 400
ERROR_TITLES = {
    403: "Not available here",
    404: "Not found",
    409: "Cannot show this record",
    503: "Not available for a moment",
}
STORE_DOWN = (
    "The audit store does not answer, so nothing was assessed or recorded (every assessment is recorded "
    "before it is shown). Try again in a few seconds."
)
NOT_LOOPBACK = (
    "Patient pages are served only to this machine (loopback clients): they show patient data and the "
    "service has no login of its own. Open this page on the server itself, or put the service behind the "
    "site's login and set CALCINOSIS_PATIENT_PAGES_OPEN=true."
)
NO_ASSESSMENT = (
    "No assessment recorded for this patient yet. It appears after an assessment here (form or upload) or "
    "through POST /assess for this patient id; CDS Hooks calls record the cards they returned, not the "
    "assessment."
)


WEB_CLIENT = "web-pages"  # the caller the audit names for assessments made on these pages


async def assess_raw(raw: bytes, state: AppState, service: str = "web-assess") -> Assessment:
    """Native case JSON or FHIR (bytes) -> Assessment, recorded in the audit trail like any other
    (:func:`calcinosis.casework.assess_and_record`). Raises InputError for input that cannot be used."""
    done = await assess_and_record(
        raw,
        pack=state.pack,
        store=state.store,
        runner=state.threads,
        origin=Origin("rest", service, caller_client=WEB_CLIENT),
        limits=Limits.of(state.settings),
    )
    return done.assessment


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _assess_page(
    request: Request,
    state: AppState,
    form: FormState | None = None,
    *,
    upload_error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "form": form or blank_state(),
        "choices": choices,
        "demos": load_demo_patients() if state.settings.demo else (),
        "demo_timelines": DEMO_TIMELINES if state.settings.demo else (),
        "upload_error": upload_error,
        "title": "Assess a patient",
    }
    return page(request, "assess.html", context, status=status, private=True)


def _result_page(
    request: Request, assessment: Assessment, raw: bytes, origin: str, *, native: bool, **extra: Any
) -> HTMLResponse:
    """The result page; with an empty ``raw`` (a recorded assessment) there is no input to re-run for a PDF.
    ``extra`` adds to or replaces context values (the SMART pages add the ``live`` read report)."""
    state: AppState = request.app.state.calcinosis
    context = {
        "a": assessment,
        "facts": {f.id: f for f in assessment.facts_used},
        "therapy_names": {t.id: t.name for t in assessment.therapies},
        "raw": raw.decode("utf-8", errors="replace"),
        "native": native,
        "origin": origin,
        "generated": _now(),
        "caution_groups": caution_groups,
        "alerts_for": alerts_for,
        "studies_of": lambda tid: study_rows(state.pack, tid) if tid in state.pack.therapies else (),
        "title": "Assessment",
        **extra,
    }
    return page(request, "result.html", context, private=True)


def _store_down(request: Request) -> HTMLResponse:
    response = _error_page(request, 503, STORE_DOWN)
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return page(
        request,
        "error.html",
        {
            "status": status,
            "message": message,
            "title": ERROR_TITLES.get(status, "Cannot use this input"),
        },
        status=status,
    )


@router.get("/", response_class=HTMLResponse)
async def assess_form(request: Request, state: StateDep) -> HTMLResponse:
    return _assess_page(request, state)


def _multi(form: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            out.setdefault(key, []).append(value)
    return out


@router.post("/assess/form", response_class=HTMLResponse)
async def assess_from_form(request: Request, state: StateDep) -> HTMLResponse:
    async with request.form(max_files=0, max_fields=MAX_FORM_FIELDS) as form:
        fields = _multi(form)
    case, form_state = read_form(fields)
    if form_state.errors:
        return _assess_page(request, state, form_state, status=422)
    raw = orjson.dumps(case, option=orjson.OPT_INDENT_2)
    try:
        assessment = await assess_raw(raw, state)
    except InputError as exc:
        form_state.errors["form"] = str(exc)
        return _assess_page(request, state, form_state, status=422)
    except StoreError:
        return _store_down(request)
    return _result_page(request, assessment, raw, "the form", native=True)


@router.post("/assess/upload", response_class=HTMLResponse)
async def assess_upload(request: Request, state: StateDep) -> HTMLResponse:
    async with request.form(max_files=1, max_fields=10) as form:
        upload = form.get("file")
        raw = await upload.read() if isinstance(upload, UploadFile) else b""
        name = upload.filename if isinstance(upload, UploadFile) else None
    if not raw.strip():
        return _assess_page(request, state, upload_error="Choose a JSON file to upload.", status=422)
    try:
        assessment = await assess_raw(raw, state)
    except InputError as exc:
        status = 413 if getattr(exc, "http_status", 422) == 413 else 422
        return _assess_page(request, state, upload_error=f"{name or 'file'}: {exc}", status=status)
    except StoreError:
        return _store_down(request)
    native = b'"resourceType"' not in raw
    return _result_page(request, assessment, raw, f"the uploaded file {name or ''}".strip(), native=native)


@router.get("/assess/demo/{case_id}", response_class=HTMLResponse)
async def assess_demo(case_id: Slug, request: Request, state: StateDep) -> HTMLResponse:
    if not state.settings.demo:
        return _error_page(request, 404, "Demo patients are served only with `calcinosis serve --demo`.")
    try:
        demo = find_demo(case_id)
    except NotFoundError as exc:
        return _error_page(request, 404, str(exc))
    try:
        assessment = await assess_raw(demo.raw, state)
    except StoreError:
        return _store_down(request)
    return _result_page(request, assessment, demo.raw, f"demo patient {demo.id}", native=True)


def _may_see_patients(request: Request, state: AppState) -> bool:
    return state.settings.patient_pages_open or is_loopback(request.client.host if request.client else None)


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
async def patient_page(patient_id: PatientId, request: Request, state: StateDep) -> HTMLResponse:
    """The latest assessment recorded for this patient id (never logged: the access log names the route),
    with the patient's treatment registry (timeline, courses, visits and their forms)."""
    if not _may_see_patients(request, state):
        return _error_page(request, 403, NOT_LOOPBACK)
    return await patient_response(request, state, patient_id)


async def patient_response(
    request: Request,
    state: AppState,
    patient_id: str,
    *,
    error: tuple[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The patient page; ``error`` (form, message) shows a refused registry form at that form."""
    try:
        record = await anyio.to_thread.run_sync(state.store.latest_for_patient, patient_id)
    except StoreError:
        return _store_down(request)
    assessment: Assessment | None = None
    if record is not None:
        try:
            assessment = Assessment.model_validate(assessment_in(record.output))
        except ValidationError:
            message = (
                "The latest record for this patient was made by another version and cannot be shown here."
            )
            return _error_page(request, 409, message + " Assess the patient again.")
    try:
        panel = await registry_panel(request, state, patient_id, assessment, error=error)
    except StoreError:
        return _store_down(request)
    if record is None or assessment is None:
        if not panel["known"]:
            return _error_page(request, 404, NO_ASSESSMENT)
        context = {"registry": panel, "title": f"Patient {patient_id}", "no_assessment": NO_ASSESSMENT}
        response = page(request, "patient.html", context, status=status, private=True)
    else:
        when = record.recorded_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        origin = f"the latest assessment recorded for this patient ({when}, {record.service})"
        response = _result_page(request, assessment, b"", origin, native=False, registry=panel)
        response.status_code = status
    csrf.set_cookie(response, request, panel["csrf"])
    return response


@router.post("/plan.pdf")
async def plan_download(request: Request, state: StateDep) -> Response:
    async with request.form(max_files=0, max_fields=10) as form:
        value = form.get("input")
        raw = value.encode("utf-8") if isinstance(value, str) else b""
    if not raw.strip():
        return _error_page(request, 400, "No patient input was sent for the plan.")
    try:
        assessment = await assess_raw(raw, state, service="web-plan-pdf")
    except InputError as exc:
        return _error_page(request, 422, str(exc))
    except StoreError:
        return _store_down(request)
    body = await anyio.to_thread.run_sync(plan_pdf, assessment, state.pack, dt.datetime.now(dt.UTC))
    name = f"calcinosis-plan-{assessment.patient_id or 'patient'}.pdf".replace('"', "")
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body, media_type="application/pdf", headers=headers)


@router.get("/evidence", response_class=HTMLResponse)
async def evidence_ladder(request: Request, state: StateDep) -> HTMLResponse:
    context = {"rows": ladder_rows(state.pack), "setting": None, "title": "Evidence ladder"}
    return page(request, "evidence.html", context)


@router.get("/evidence/settings/{setting_id}", response_class=HTMLResponse)
async def evidence_setting(setting_id: Slug, request: Request, state: StateDep) -> HTMLResponse:
    try:
        rows = ladder_rows(state.pack, setting_id)
    except NotFoundError as exc:
        return _error_page(request, 404, str(exc))
    setting = state.pack.settings[setting_id]
    return page(request, "evidence.html", {"rows": rows, "setting": setting, "title": setting.name})


@router.get("/evidence/therapies/{therapy_id}", response_class=HTMLResponse)
async def evidence_therapy(therapy_id: Slug, request: Request, state: StateDep) -> HTMLResponse:
    try:
        view = therapy_page(state.pack, therapy_id)
    except NotFoundError as exc:
        return _error_page(request, 404, str(exc))
    local = await local_rows(request, therapy_id)  # this clinic's registry, beside the published level
    return page(
        request,
        "therapy.html",
        {"t": view, "title": view.therapy.name, "local": local, "local_threshold": SMALL_NUMBERS},
    )


@router.get("/about", response_class=HTMLResponse)
async def about(request: Request, state: StateDep) -> HTMLResponse:
    sources = sorted(state.pack.sources.values(), key=lambda s: s.short.lower())
    return page(request, "about.html", {"sources": sources, "title": "About"})


@router.get("/static/{name}")
async def static(name: Annotated[str, Path(max_length=60, pattern=r"^[a-z0-9-]+\.(css|js)$")]) -> Response:
    path = resources.files("calcinosis.web") / "static" / name
    if not path.is_file():
        raise NotFoundError(f"no static file '{name}'")
    suffix = name[name.rindex(".") :]
    headers = {
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": SECURITY_HEADERS["X-Content-Type-Options"],
    }
    return Response(path.read_bytes(), media_type=STATIC_TYPES[suffix], headers=headers)
