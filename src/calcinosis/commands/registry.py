"""`calcinosis course|visit|patient|registry`: the treatment registry from the terminal (docs/registry.md).

Every write is committed before the command prints its one-line confirmation; bad input is one line on
stderr and exit code 2, a store failure exit code 4, and nothing is half-written.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from calcinosis.commands.guard import date_option
from calcinosis.errors import InputError

course_app = typer.Typer(help="Treatment courses in the registry.", no_args_is_help=True)
visit_app = typer.Typer(help="Visits and their measurements in the registry.", no_args_is_help=True)
patient_app = typer.Typer(help="A patient's registry record.", no_args_is_help=True)
registry_app = typer.Typer(
    help="The treatment registry: schema, export, local evidence.", no_args_is_help=True
)


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"


PatientArg = Annotated[str, typer.Argument(help="Pseudonymous patient id (the id assessments carry).")]
CourseArg = Annotated[int, typer.Argument(help="Course number (from `calcinosis course list`).")]
MeasurementArg = Annotated[int, typer.Argument(help="Measurement number (from `calcinosis visit list`).")]
By = Annotated[str | None, typer.Option("--by", help="Who records this (default: cli:<login name>).")]
Reason = Annotated[str, typer.Option("--reason", help="Why (kept in the record's history).")]
Sets = Annotated[list[str], typer.Option("--set", help="FIELD=VALUE to correct (repeat); FIELD= clears it.")]
FormatOpt = Annotated[Format, typer.Option("--format", help="text or json.")]


def _by(value: str | None) -> str:
    if value:
        return value
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _required_date(value: str, option: str) -> dt.date:
    date = date_option(value, option)
    assert date is not None  # noqa: S101 - value is a str
    return date


def _sets(values: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for raw in values:
        name, sep, value = raw.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--set {raw!r}: expected FIELD=VALUE")
        out[name.strip()] = value if value != "" else None
    if not out:
        raise InputError("--set: give at least one FIELD=VALUE to correct")
    return out


def _dump(model: Any) -> str:
    import orjson

    return orjson.dumps(model.model_dump(mode="json"), option=orjson.OPT_INDENT_2).decode()


@contextmanager
def _registry() -> Iterator[Any]:
    from calcinosis.registry import open_registry
    from calcinosis.settings import load_settings

    registry = open_registry(load_settings())
    try:
        yield registry
    finally:
        registry.close()


def _subtype_hint(patient_id: str) -> tuple[str, str] | None:
    """The subtype of the patient's latest recorded assessment, if the audit trail has one."""
    from calcinosis.settings import load_settings
    from calcinosis.store import open_store
    from calcinosis.store.base import assessment_in

    store = open_store(load_settings())
    try:
        record = store.latest_for_patient(patient_id)
    finally:
        store.close()
    if record is None:
        return None
    code = assessment_in(record.output).get("subtype", {}).get("code")
    if not isinstance(code, str):
        return None
    return code, f"latest assessment ({record.recorded_at:%Y-%m-%d})"


def _course_line(c: Any) -> str:
    span = f"{c.start} → {c.stop or 'running'}" + (f" ({c.stop_reason})" if c.stop_reason else "")
    extra = ", ".join(x for x in (c.agent, c.dose, c.route) if x)
    return f"course {c.id}: {c.therapy} for {c.patient_id} ({c.subtype}), {span}" + (
        f"; {extra}" if extra else ""
    )


def _measurement_text(m: Any) -> str:
    from calcinosis.registry.text import measurement_text

    return measurement_text(m)


# ---------------------------------------------------------------- course
def course_start(
    patient_id: PatientArg,
    therapy: Annotated[str, typer.Option("--therapy", help="Therapy id of the knowledge pack.")],
    start: Annotated[str, typer.Option("--start", help="First day (YYYY-MM-DD).")],
    subtype: Annotated[
        str | None, typer.Option("--subtype", help="Subtype treated (default: the latest assessment's).")
    ] = None,
    agent: Annotated[str | None, typer.Option("--agent")] = None,
    dose: Annotated[str | None, typer.Option("--dose")] = None,
    route: Annotated[str | None, typer.Option("--route")] = None,
    note: Annotated[str | None, typer.Option("--note", help="Free text (never exported).")] = None,
    by: By = None,
) -> None:
    """Record a treatment course that started (or starts today)."""
    from calcinosis.registry.records import CourseStart, PatientId, parse

    parse_id(patient_id, PatientId)
    course = parse(
        CourseStart,
        {
            "therapy": therapy,
            "start": start,
            "subtype": subtype,
            "agent": agent,
            "dose": dose,
            "route": route,
            "note": note,
        },
        "course",
    )
    hint = _subtype_hint(patient_id) if course.subtype is None else None
    with _registry() as registry:
        record = registry.start_course(patient_id, course, _by(by), hint)
    typer.echo(f"started {_course_line(record)} (subtype {record.subtype_basis})")


def parse_id(value: str, kind: Any) -> None:
    from pydantic import TypeAdapter, ValidationError

    try:
        TypeAdapter(kind).validate_python(value)
    except ValidationError:
        raise InputError(
            f"patient id '{value[:80]}': use 1–64 letters, digits, '-' or '.' (a pseudonymous id)"
        ) from None


def course_stop(
    course_id: CourseArg,
    stop: Annotated[str, typer.Option("--stop", help="Last day (YYYY-MM-DD).")],
    reason: Annotated[
        str, typer.Option("--reason", help="ineffective, adverse-event, resolved, patient-choice or other.")
    ],
    by: By = None,
) -> None:
    """Record that a course stopped, and why."""
    from calcinosis.registry.records import CourseStop, parse

    stopping = parse(CourseStop, {"stop": stop, "reason": reason}, "stop")
    with _registry() as registry:
        record = registry.stop_course(course_id, stopping, _by(by))
    typer.echo(f"stopped {_course_line(record)}")


def course_list(
    patient_id: Annotated[str | None, typer.Argument(help="Only this patient.")] = None,
    therapy: Annotated[str | None, typer.Option("--therapy", help="Only this therapy.")] = None,
    deleted: Annotated[bool, typer.Option("--deleted", help="Include deleted courses.")] = False,
    fmt: FormatOpt = Format.TEXT,
) -> None:
    """Courses in the registry, oldest first."""
    import orjson

    with _registry() as registry:
        courses = registry.courses(patient_id, therapy, deleted=deleted)
    if fmt is Format.JSON:
        typer.echo(
            orjson.dumps([c.model_dump(mode="json") for c in courses], option=orjson.OPT_INDENT_2).decode()
        )
        return
    for c in courses:
        typer.echo(_course_line(c) + (" [deleted]" if c.deleted_at else ""))
    typer.echo(f"{len(courses)} course(s)")


def course_event(
    course_id: CourseArg,
    date: Annotated[str, typer.Option("--date", help="When (YYYY-MM-DD).")],
    description: Annotated[str, typer.Option("--description", help="What happened.")],
    severity: Annotated[
        str | None, typer.Option("--severity", help="mild, moderate, severe or life-threatening.")
    ] = None,
    by: By = None,
) -> None:
    """Record an adverse event during a course (the option becomes `avoid` for this patient)."""
    from calcinosis.registry.records import AdverseEventIn, parse

    event = parse(
        AdverseEventIn, {"date": date, "description": description, "severity": severity}, "adverse_event"
    )
    with _registry() as registry:
        record = registry.add_adverse_event(course_id, event, _by(by))
    typer.echo(
        f"adverse event {record.id} recorded on course {course_id} ({record.date}, {record.severity or 'severity not given'})"
    )


def course_correct(course_id: CourseArg, sets: Sets, reason: Reason, by: By = None) -> None:
    """Correct fields of a course (the old values stay in the history)."""
    with _registry() as registry:
        record = registry.correct("course", course_id, _sets(sets), reason, _by(by))
    typer.echo(f"corrected {_course_line(record)}")


def course_delete(course_id: CourseArg, reason: Reason, by: By = None) -> None:
    """Delete a course entered in error (it and its adverse events stay in the history)."""
    with _registry() as registry:
        registry.delete("course", course_id, reason, _by(by))
    typer.echo(f"deleted course {course_id} (kept in the history)")


def event_correct(
    event_id: Annotated[int, typer.Argument()], sets: Sets, reason: Reason, by: By = None
) -> None:
    """Correct an adverse event (the old values stay in the history)."""
    with _registry() as registry:
        record = registry.correct("adverse_event", event_id, _sets(sets), reason, _by(by))
    typer.echo(f"corrected adverse event {record.id}")


def event_delete(event_id: Annotated[int, typer.Argument()], reason: Reason, by: By = None) -> None:
    """Delete an adverse event entered in error (kept in the history)."""
    with _registry() as registry:
        registry.delete("adverse_event", event_id, reason, _by(by))
    typer.echo(f"deleted adverse event {event_id} (kept in the history)")


# ---------------------------------------------------------------- visit
def visit_add(
    patient_id: PatientArg,
    date: Annotated[str | None, typer.Option("--date", help="Visit date (YYYY-MM-DD).")] = None,
    course: Annotated[int | None, typer.Option("--course", help="The course this visit follows up.")] = None,
    site: Annotated[
        str | None, typer.Option("--site", help="Lesion or region (default: whole patient).")
    ] = None,
    count: Annotated[int | None, typer.Option("--count", help="Number of lesions.")] = None,
    largest_mm: Annotated[float | None, typer.Option("--largest-mm", help="Largest diameter, mm.")] = None,
    sctc: Annotated[float | None, typer.Option("--sctc", help="SCTC hand radiographic score.")] = None,
    vas: Annotated[float | None, typer.Option("--vas", help="Pain VAS 0–10.")] = None,
    ulceration: Annotated[bool | None, typer.Option("--ulceration/--no-ulceration")] = None,
    inflammation: Annotated[bool | None, typer.Option("--inflammation/--no-inflammation")] = None,
    infection: Annotated[bool | None, typer.Option("--infection/--no-infection")] = None,
    new_lesions: Annotated[bool | None, typer.Option("--new-lesions/--no-new-lesions")] = None,
    patient_global: Annotated[float | None, typer.Option("--patient-global", help="0–10.")] = None,
    physician_global: Annotated[float | None, typer.Option("--physician-global", help="0–10.")] = None,
    note: Annotated[str | None, typer.Option("--note", help="Free text (never exported).")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="A visit as JSON: {date, course, measurements: [...]}.")
    ] = None,
    by: By = None,
) -> None:
    """Record a visit: one site from the options, or several from --file; all or nothing."""
    from calcinosis.inputs import decode_json
    from calcinosis.registry.records import PatientId, VisitIn, parse

    parse_id(patient_id, PatientId)
    if file is not None:
        data = decode_json(file.read_bytes(), str(file))
    else:
        if date is None:
            raise InputError("--date: required (or give --file)")
        measured = {
            "site": site,
            "count": count,
            "largest_mm": largest_mm,
            "sctc_score": sctc,
            "pain_vas": vas,
            "ulceration": ulceration,
            "inflammation": inflammation,
            "infection": infection,
            "new_lesions": new_lesions,
            "patient_global": patient_global,
            "physician_global": physician_global,
            "note": note,
        }
        data = {
            "date": date,
            "course": course,
            "measurements": [{k: v for k, v in measured.items() if v is not None}],
        }
    visit = parse(VisitIn, data, "visit")
    with _registry() as registry:
        rows = registry.add_visit(patient_id, visit, _by(by))
    typer.echo(
        f"visit of {patient_id} on {visit.date} recorded: " + "; ".join(_measurement_text(m) for m in rows)
    )


def visit_list(
    patient_id: PatientArg,
    deleted: Annotated[bool, typer.Option("--deleted")] = False,
    fmt: FormatOpt = Format.TEXT,
) -> None:
    """A patient's visit measurements, oldest first."""
    import orjson

    with _registry() as registry:
        rows = registry.measurements(patient_id, deleted=deleted)
    if fmt is Format.JSON:
        typer.echo(
            orjson.dumps([m.model_dump(mode="json") for m in rows], option=orjson.OPT_INDENT_2).decode()
        )
        return
    for m in rows:
        typer.echo(_measurement_text(m) + (" [deleted]" if m.deleted_at else ""))
    typer.echo(f"{len(rows)} measurement(s)")


def visit_correct(measurement_id: MeasurementArg, sets: Sets, reason: Reason, by: By = None) -> None:
    """Correct a measurement (the old values stay in the history)."""
    with _registry() as registry:
        record = registry.correct("measurement", measurement_id, _sets(sets), reason, _by(by))
    typer.echo(f"corrected {_measurement_text(record)}")


def visit_delete(measurement_id: MeasurementArg, reason: Reason, by: By = None) -> None:
    """Delete a measurement entered in error (kept in the history)."""
    with _registry() as registry:
        registry.delete("measurement", measurement_id, reason, _by(by))
    typer.echo(f"deleted measurement {measurement_id} (kept in the history)")


# ---------------------------------------------------------------- patient
def patient_show(patient_id: PatientArg, fmt: FormatOpt = Format.TEXT) -> None:
    """Courses, visits, each course's computed response and the next assessment's history section."""
    from calcinosis.registry.summary import patient_summary

    with _registry() as registry:
        summary = patient_summary(registry, patient_id)
    if fmt is Format.JSON:
        typer.echo(_dump(summary))
        return
    from calcinosis.registry.text import summary_lines

    for line in summary_lines(summary):
        typer.echo(line)


def patient_facts(
    patient_id: PatientArg,
    file: Annotated[Path, typer.Argument(help="The patient's case: native case JSON or FHIR R4.")],
    by: By = None,
) -> None:
    """Store the patient's facts (conditions, labs, lesions…) for the next assessment with history."""
    from calcinosis.inputs import decode_json
    from calcinosis.registry.records import PatientId
    from calcinosis.registry.text import facts_of

    parse_id(patient_id, PatientId)
    facts = facts_of(decode_json(file.read_bytes(), str(file)))
    with _registry() as registry:
        registry.register_patient(patient_id, _by(by), facts)
    typer.echo(f"facts of {patient_id} stored ({len(facts)} fields)")


def patient_history(patient_id: PatientArg, fmt: FormatOpt = Format.TEXT) -> None:
    """Every correction and deletion of this patient's records, with the old values, who, when and why."""
    import orjson

    with _registry() as registry:
        registry.patient(patient_id)
        revisions = registry.history(patient_id)
    if fmt is Format.JSON:
        typer.echo(
            orjson.dumps([r.model_dump(mode="json") for r in revisions], option=orjson.OPT_INDENT_2).decode()
        )
        return
    from calcinosis.registry.text import revision_line

    for r in revisions:
        typer.echo(revision_line(r))
    typer.echo(f"{len(revisions)} revision(s)")


# ---------------------------------------------------------------- registry
def registry_export(
    parquet: Annotated[
        Path, typer.Option("--parquet", help="Folder to write the Parquet tables to (created).")
    ],
) -> None:
    """De-identified tables (pseudonymous ids, no free text) as Parquet, for DuckDB and the screening report."""
    from calcinosis.registry.export import export_parquet

    with _registry() as registry:
        counts = export_parquet(registry, parquet)
    typer.echo("exported " + ", ".join(f"{n:,} {table}" for table, n in counts.items()) + f" to {parquet}")


def registry_migrate(
    check: Annotated[bool, typer.Option("--check", help="Only report the revision; change nothing.")] = False,
) -> None:
    """Bring the registry schema to the newest migration (serve does this at start), or report it."""
    from calcinosis.registry import migrate
    from calcinosis.registry.database import make_engine
    from calcinosis.settings import load_settings

    engine = make_engine(load_settings())
    try:
        if check:
            with engine.connect() as conn:
                current = migrate.current(conn)
            typer.echo(f"registry schema at {current or 'nothing (empty)'}; newest {migrate.head()}")
            return
        before, after = migrate.upgrade(engine)
    finally:
        engine.dispose()
    typer.echo(f"registry schema at {after} (was {before or 'empty'})")


def registry_evidence(
    therapy: Annotated[str, typer.Argument(help="Therapy id of the knowledge pack.")],
    subtype: Annotated[str | None, typer.Option("--subtype", help="Only courses for this subtype.")] = None,
    fmt: FormatOpt = Format.TEXT,
) -> None:
    """This clinic's courses of one therapy (per subtype), beside the published level and never in it."""
    import orjson

    from calcinosis.registry.evidence import local_evidence, local_evidence_by_subtype

    with _registry() as registry:
        rows = (
            [local_evidence(registry, therapy, subtype)]
            if subtype
            else local_evidence_by_subtype(registry, therapy)
        )
    if fmt is Format.JSON:
        typer.echo(
            orjson.dumps([r.model_dump(mode="json") for r in rows], option=orjson.OPT_INDENT_2).decode()
        )
        return
    for r in rows:
        typer.echo(f"{r.subtype or 'all subtypes'}: {r.text}")
    if not rows:
        typer.echo("this clinic: no courses recorded")
    typer.echo(rows[0].note if rows else "")


def registry_import(
    folder: Annotated[
        Path, typer.Argument(help="Folder with patients/courses/measurements/adverse_events.ndjson.")
    ],
    by: By = None,
) -> None:
    """Load registry rows (as `calcinosis synth --courses` writes them) in batches of whole patients."""
    from calcinosis.registry.bulk import import_folder

    with _registry() as registry:
        counts = import_folder(registry, folder, _by(by))
    typer.echo("imported " + ", ".join(f"{n:,} {table}" for table, n in counts.items()))


def register(app: typer.Typer) -> None:
    from calcinosis.commands.guard import guarded

    course_app.command("start")(guarded(course_start))
    course_app.command("stop")(guarded(course_stop))
    course_app.command("list")(guarded(course_list))
    course_app.command("event")(guarded(course_event))
    course_app.command("correct")(guarded(course_correct))
    course_app.command("delete")(guarded(course_delete))
    course_app.command("event-correct")(guarded(event_correct))
    course_app.command("event-delete")(guarded(event_delete))
    visit_app.command("add")(guarded(visit_add))
    visit_app.command("list")(guarded(visit_list))
    visit_app.command("correct")(guarded(visit_correct))
    visit_app.command("delete")(guarded(visit_delete))
    patient_app.command("show")(guarded(patient_show))
    patient_app.command("facts")(guarded(patient_facts))
    patient_app.command("history")(guarded(patient_history))
    registry_app.command("export")(guarded(registry_export))
    registry_app.command("migrate")(guarded(registry_migrate))
    registry_app.command("evidence")(guarded(registry_evidence))
    registry_app.command("import")(guarded(registry_import))
    app.add_typer(course_app, name="course")
    app.add_typer(visit_app, name="visit")
    app.add_typer(patient_app, name="patient")
    app.add_typer(registry_app, name="registry")
