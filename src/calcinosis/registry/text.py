"""Plain-text lines for the terminal: a patient's registry record, revisions; and the stored facts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from calcinosis.errors import InputError
from calcinosis.registry.records import MeasurementRecord, Revision
from calcinosis.registry.summary import PatientSummary


def facts_of(data: Any) -> dict[str, Any]:
    """A native case or FHIR R4 input -> the native case facts the registry stores (without courses or
    measurements: the registry's own are the record)."""
    from calcinosis.casework import read

    case, _ = read(data, unreadable="facts could not be read as a case or FHIR input")
    facts: dict[str, Any] = case.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    for key in ("courses", "measurements", "id"):
        facts.pop(key, None)
    try:
        orjson.dumps(facts)
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise InputError(f"facts: cannot be stored ({exc})") from None
    return facts


def measurement_text(m: MeasurementRecord) -> str:
    parts = []
    if m.count is not None:
        parts.append(f"count {m.count}")
    if m.largest_mm is not None:
        parts.append(f"largest {m.largest_mm:g} mm")
    if m.sctc_score is not None:
        parts.append(f"SCTC {m.sctc_score:g}")
    if m.pain_vas is not None:
        parts.append(f"pain {m.pain_vas:g}/10")
    for flag in ("ulceration", "inflammation", "infection", "new_lesions"):
        value = getattr(m, flag)
        if value is not None:
            parts.append(flag.replace("_", " ") if value else f"no {flag.replace('_', ' ')}")
    if m.patient_global is not None:
        parts.append(f"patient global {m.patient_global:g}/10")
    if m.physician_global is not None:
        parts.append(f"physician global {m.physician_global:g}/10")
    course = f" [course {m.course_id}]" if m.course_id else ""
    return f"#{m.id} {m.date} {m.site or 'whole patient'}{course}: " + ", ".join(parts)


def summary_lines(s: PatientSummary) -> Iterator[str]:
    yield f"Patient {s.patient_id}: {len(s.courses)} course(s), {len(s.visits)} measurement(s); as of {s.as_of}"
    yield s.note
    yield ""
    yield "Courses"
    if not s.courses:
        yield "  none recorded"
    for v in s.courses:
        c = v.course
        span = f"{c.start} → {c.stop or 'running'}" + (f" ({c.stop_reason})" if c.stop_reason else "")
        extra = ", ".join(x for x in (c.agent, c.dose, c.route) if x)
        yield f"  course {c.id}: {c.therapy} ({c.subtype}), {span}" + (f"; {extra}" if extra else "")
        r = v.response
        if r is not None:
            adequate = (
                "adequate" if r.adequate else f"shorter than the {r.adequate_days} days counted as adequate"
            )
            yield f"    response: {r.category} — {r.category_basis} ({r.duration_days} days, {adequate})"
            for m in r.measures:
                yield f"      {m.text}" + (f" [{m.site}]" if m.site else "")
            if r.next_measurement_due:
                yield f"    next measurement due {r.next_measurement_due}"
        for e in v.adverse_events:
            yield f"    adverse event {e.id}: {e.date} {e.description}" + (
                f" ({e.severity})" if e.severity else ""
            )
    yield ""
    yield "Visits"
    if not s.visits:
        yield "  none recorded"
    for visit in s.visits:
        yield "  " + measurement_text(visit)
    yield ""
    yield "Next assessment: options a course touched"
    if not s.options:
        yield "  none" + ("" if s.has_facts else " (no case facts stored)")
    for o in s.options:
        yield f"  {o.rank}. {o.name} — {o.stance.value} (courses {', '.join(o.courses)})"
        for line in o.rationale:
            if "course" in line.lower() or "adverse event" in line.lower():
                yield f"     {line}"


def revision_line(r: Revision) -> str:
    changed = r.before if r.after is None else {k: v for k, v in r.before.items() if r.after.get(k) != v}
    after = "" if r.after is None else " → " + orjson.dumps({k: r.after.get(k) for k in changed}).decode()
    return (
        f"{r.changed_at} {r.changed_by}: {r.action} {r.entity} {r.entity_id} ({r.reason}); "
        f"was {orjson.dumps(changed).decode()}{after}"
    )
