"""MedicationStatement / MedicationRequest → treatment courses; AdverseEvent → the course it happened on.

A medication whose name (text, coding displays, or the concept its RxNorm code maps to) names a pack therapy
becomes a :class:`~calcinosis.patient.models.Course` as well as a medication; the project's own therapy
coding (CodeSystem pack-item, as :mod:`calcinosis.fhir.courses` writes it) names the therapy directly.

Dates (FHIR R4): a MedicationStatement's ``effectivePeriod`` (start, optional end) or ``effectiveDateTime``
(start); a MedicationRequest's ``dosageInstruction[0].timing.repeat.boundsPeriod`` (start, optional end),
else ``authoredOn`` (start). ``dispenseRequest.validityPeriod`` is not read: it dates the prescription's
validity, not the treatment. A course is running while its status is active or on-hold; a completed or
stopped one needs an end date, which becomes its stop date, and its ``statusReason`` becomes the stop
reason. ``reasonCode`` is not read for that: R4 defines it as why the medication is taken.

An AdverseEvent attaches to the course whose MedicationStatement/MedicationRequest or Medication its
``suspectEntity.instance`` refers to, else to the course of the therapy its text names (the course running
on the event's date when there are several). One that names no course is reported.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from calcinosis.fhir.bundle import Entry
from calcinosis.fhir.canonical import CS_ITEM, CS_STOP_REASON, url
from calcinosis.fhir.context import AdverseEventRead, Context, CourseRead
from calcinosis.fhir.treatment import STOP_REASONS, StopReason, stop_reason_in
from calcinosis.fhir.values import bad_date, codings, concept_text, parse_date
from calcinosis.patient.models import AdverseEvent, Coding, Course

RUNNING = frozenset({"active", "on-hold"})
ENDED = frozenset({"completed", "stopped"})
SEVERITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
SERIOUSNESS_SYSTEM = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
LIFE_THREATENING = "SeriousIsLifeThreatening"
Severity = Literal["mild", "moderate", "severe", "life-threatening"]
SEVERITIES: tuple[Severity, ...] = ("mild", "moderate", "severe")
AE_READ = frozenset(
    {"actuality", "event", "date", "detected", "recordedDate", "severity", "seriousness", "suspectEntity"}
)


def add_course(
    ctx: Context,
    entry: Entry,
    *,
    codes: tuple[Coding, ...],
    name: str | None,
    concepts: list[str],
    dosage: dict[str, Any],
) -> bool:
    """Add the course a medication resource describes, if it names a pack therapy (issues otherwise).

    True when the medication names a pack therapy (whether or not its dates make it a course)."""
    found = _therapy(ctx, entry, codes, name, concepts, concept_text(dosage.get("route")))
    if found is None:
        return False
    therapy, agent = found
    shown = ctx.therapies().pack.therapies[therapy].name
    dates = _dates(ctx, entry, dosage)
    if dates is None:
        return True
    start, end = dates
    r = entry.resource
    status = str(r.get("status"))
    if start is None:
        ctx.issue(
            entry.where,
            f"{shown}: no start date, so not a treatment course (kept as a medication)",
            "information",
        )
        return True
    if end is not None and end < start:
        ctx.issue(entry.where, f"{shown}: ends ({end}) before it starts ({start}); not a treatment course")
        return True
    stop: date | None = None
    if status in ENDED:
        if end is None:
            ctx.issue(
                entry.where,
                f"{shown}: {status} with no end date, so the course cannot be judged; not a treatment course",
                "information",
            )
            return True
        stop = end
    elif status not in RUNNING:
        ctx.issue(
            entry.where,
            f"{shown}: status {status}, not a course given; not a treatment course",
            "information",
        )
        return True
    elif end is not None:
        ctx.issue(
            entry.where,
            f"{shown}: {status} with a planned end ({end}); read as running until the record says it stopped",
            "information",
        )
    reason = _stop_reason(r.get("statusReason")) if stop is not None else None
    for earlier in ctx.courses:
        if earlier.course.therapy == therapy and earlier.course.start == start:
            ctx.issue(
                entry.where,
                f"{shown} from {start} is already read from {earlier.where}; read once",
                "information",
            )
            return True
    course = Course(
        id=entry.key,
        therapy=therapy,
        agent=agent,
        dose=dosage.get("text") if isinstance(dosage.get("text"), str) else None,
        route=concept_text(dosage.get("route")),
        start=start,
        stop=stop,
        stop_reason=reason,
    )
    medication = ctx.resolve(r.get("medicationReference"), entry)
    ctx.courses.append(CourseRead(course, r, medication, entry.where))
    return True


def _therapy(
    ctx: Context,
    entry: Entry,
    codes: tuple[Coding, ...],
    name: str | None,
    concepts: list[str],
    route: str | None,
) -> tuple[str, str | None] | None:
    """(pack therapy id, agent) the medication names; None (with an issue when it matters) otherwise."""
    matcher = ctx.therapies()
    therapies = matcher.pack.therapies
    ours = url(CS_ITEM)
    for c in codes:
        if c.system == ours:
            if c.code in therapies:
                agent = name if name and name != therapies[c.code].name else None
                return c.code, agent
            ctx.issue(f"{entry.where}.medication", f"'{c.code}' is not a therapy of the knowledge pack")
            return None
    words = " ; ".join(
        filter(None, [name, *(c.display or "" for c in codes), *(k.replace("-", " ") for k in concepts)])
    )
    match = matcher.match(words, " ; ".join(filter(None, [route, name])))
    if len(match.therapies) == 1:
        return match.therapies[0], match.agent
    if len(match.therapies) > 1:
        names = ", ".join(therapies[t].name for t in match.therapies)
        ctx.issue(
            entry.where,
            f"'{name}' names several therapies ({names}) and its route does not say which; not a treatment course",
        )
    elif match.rejected:
        names = ", ".join(therapies[t].name for t in match.rejected)
        ctx.issue(
            entry.where,
            f"'{name}' is given by another route than {names}; not a treatment course",
            "information",
        )
    return None


def _dates(ctx: Context, entry: Entry, dosage: dict[str, Any]) -> tuple[date | None, date | None] | None:
    """(start, end) of the treatment; None (with an issue) when a date is unreadable."""
    r = entry.resource
    if entry.type == "MedicationStatement":
        period = r.get("effectivePeriod")
        if isinstance(period, dict):
            raw = [("effectivePeriod.start", period.get("start")), ("effectivePeriod.end", period.get("end"))]
        else:
            raw = [("effectiveDateTime", r.get("effectiveDateTime")), ("", None)]
    else:
        timing = _object(dosage.get("timing"))
        repeat = _object(timing.get("repeat"))
        bounds = _object(repeat.get("boundsPeriod"))
        where = "dosageInstruction[0].timing.repeat.boundsPeriod"
        start_el = (f"{where}.start", bounds.get("start"))
        if start_el[1] is None:
            start_el = ("authoredOn", r.get("authoredOn"))
        raw = [start_el, (f"{where}.end", bounds.get("end"))]
    out: list[date | None] = []
    for element, value in raw:
        if bad_date(value):
            ctx.issue(f"{entry.where}.{element}", f"'{value}' is not a FHIR date; not a treatment course")
            return None
        out.append(parse_date(value))
    return out[0], out[1]


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _stop_reason(given: Any) -> StopReason | None:
    items = given if isinstance(given, list) else [given] if isinstance(given, dict) else []
    ours = url(CS_STOP_REASON)
    for cc in items:
        for c in codings(cc):
            if c.system == ours and c.code in STOP_REASONS:
                return c.code  # type: ignore[return-value]
    texts = [t for cc in items if (t := _all_words(cc))]
    return stop_reason_in(" ; ".join(texts)) if texts else None


def _all_words(cc: Any) -> str:
    if not isinstance(cc, dict):
        return ""
    parts = [concept_text(cc) or "", *(c.display or "" for c in codings(cc))]
    return " ; ".join(dict.fromkeys(p for p in parts if p))


# ---------------------------------------------------------------------------------------- adverse events


def read_adverse_event(ctx: Context, entry: Entry) -> None:
    """An AdverseEvent, kept until every course is read (see :func:`attach_adverse_events`)."""
    r = entry.resource
    if r.get("actuality") == "potential":
        ctx.issue(
            f"{entry.where}.actuality",
            "a potential adverse event (it did not happen); not used",
            "information",
        )
        return
    description = concept_text(r.get("event"))
    if not description:
        ctx.issue(f"{entry.where}.event", "adverse event with no description", "information")
        description = "Adverse event (not described)"
    day: date | None = None
    for element in ("date", "detected", "recordedDate"):
        if bad_date(r.get(element)):
            ctx.issue(f"{entry.where}.{element}", f"'{r.get(element)}' is not a FHIR dateTime; not read")
        elif day is None:
            day = parse_date(r.get(element))
    targets: list[dict[str, Any]] = []
    words = [description]
    suspects: list[Any] = r["suspectEntity"] if isinstance(r.get("suspectEntity"), list) else []
    for i, suspect in enumerate(suspects):
        ref = suspect.get("instance") if isinstance(suspect, dict) else None
        if not isinstance(ref, dict):
            continue
        if isinstance(ref.get("display"), str):
            words.append(ref["display"])
        target = ctx.resolve(ref, entry)
        if target is not None:
            targets.append(target)
            words.append(_product_text(ctx, target, entry))
        elif isinstance(ref.get("reference"), str):
            ctx.issue(
                f"{entry.where}.suspectEntity[{i}].instance",
                f"reference '{ref['reference']}' does not resolve in the record; the event's text is read instead",
                "information",
            )
    event = AdverseEvent(id=entry.key, date=day, description=description, severity=_severity(r))
    ctx.adverse_events.append(
        AdverseEventRead(event, targets, " ; ".join(w for w in words if w), entry.where)
    )
    ctx.unused(entry, AE_READ)


def _product_text(ctx: Context, target: dict[str, Any], holder: Entry) -> str:
    """The medication name of a Medication or Medication* resource an adverse event points at."""
    if target.get("resourceType") == "Medication":
        return concept_text(target.get("code")) or ""
    if "medicationCodeableConcept" in target:
        return concept_text(target["medicationCodeableConcept"]) or ""
    med = ctx.resolve(target.get("medicationReference"), holder)
    return concept_text(med.get("code")) or "" if med else ""


def _severity(r: dict[str, Any]) -> Severity | None:
    for c in codings(r.get("seriousness")):
        if c.system == SERIOUSNESS_SYSTEM and c.code == LIFE_THREATENING:
            return "life-threatening"
    for c in codings(r.get("severity")):
        level = next((s for s in SEVERITIES if s == c.code.lower()), None)
        if c.system == SEVERITY_SYSTEM and level is not None:
            return level
    words = " ".join(
        filter(None, [concept_text(r.get("seriousness")), concept_text(r.get("severity"))])
    ).lower()
    if "life-threatening" in words or "life threatening" in words:
        return "life-threatening"
    return next((s for s in reversed(SEVERITIES) if s in words.split()), None)


def attach_adverse_events(ctx: Context) -> list[Course]:
    """The courses read, each with the adverse events that name it; events that name none are reported."""
    attached: dict[int, list[AdverseEvent]] = {}
    for pending in ctx.adverse_events:
        index = _course_of(ctx, pending)
        if index is not None:
            attached.setdefault(index, []).append(pending.event)
    out = []
    for i, read in enumerate(ctx.courses):
        events = attached.get(i)
        course = read.course
        if events:
            events.sort(key=lambda e: (e.date is None, e.date or date.min))
            course = course.model_copy(update={"adverse_events": (*course.adverse_events, *events)})
        out.append(course)
    return out


def _course_of(ctx: Context, pending: AdverseEventRead) -> int | None:
    by_reference = [
        i
        for i, read in enumerate(ctx.courses)
        if any(
            t is read.source or (read.medication is not None and t is read.medication)
            for t in pending.targets
        )
    ]
    candidates = by_reference
    if not candidates:
        named = set(ctx.therapies().match(pending.words, None).therapies)
        candidates = [i for i, read in enumerate(ctx.courses) if read.course.therapy in named]
    if len(candidates) > 1:
        candidates = _running_on(ctx, candidates, pending.event.date)
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        why = "its suspect entity and text name no treatment course in the record"
        ctx.issue(pending.where, f"adverse event '{pending.event.description}' not attached: {why}")
    else:
        shown = ", ".join(ctx.courses[i].where for i in candidates)
        ctx.issue(
            pending.where,
            f"adverse event '{pending.event.description}' could be on several courses ({shown}); not attached",
        )
    return None


def _running_on(ctx: Context, candidates: list[int], day: date | None) -> list[int]:
    """The candidate courses running on ``day`` (started on or before it, not stopped before it)."""
    if day is None:
        return candidates
    return [
        i
        for i in candidates
        if ctx.courses[i].course.start <= day
        and (ctx.courses[i].course.stop is None or day <= ctx.courses[i].course.stop)  # type: ignore[operator]
    ]
