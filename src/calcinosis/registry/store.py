"""The registry store: treatment courses, visit measurements and adverse events per patient.

Every write is one transaction that commits before it returns (nothing half-written, nothing acknowledged
that is not durable). A write first registers the patient if new and bumps the patient's ``version`` (on
PostgreSQL that row lock also serialises writes to one patient; SQLite's ``BEGIN IMMEDIATE`` serialises all
writes), then checks what needs the database, then writes. A correction or deletion copies the old values
to ``registry_revision`` with who, when and why; a deleted record keeps its row, marked deleted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import orjson
from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from calcinosis.errors import CalcinosisError, InputError, NotFoundError, StoreError
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.models import SubtypeCode
from calcinosis.patient.models import AdverseEvent, Case, Course, Measurement
from calcinosis.registry import tables as T
from calcinosis.registry.database import READ
from calcinosis.registry.records import (
    MEASURED,
    AdverseEventIn,
    AdverseEventRecord,
    Correction,
    CourseRecord,
    CourseStart,
    CourseStop,
    Deletion,
    MeasurementIn,
    MeasurementRecord,
    PatientRecord,
    Revision,
    VisitIn,
    parse,
    site_key,
)
from calcinosis.store.records import to_text, utc_now

R = TypeVar("R")
COURSE_PREFIX = "course-"
MEASUREMENT_PREFIX = "measurement-"
EVENT_PREFIX = "adverse-event-"


class DuplicateRecord(InputError):
    """The record is already stored (same patient, date and site for a visit)."""

    http_status = 409
    code = "duplicate"


def now_text() -> str:
    return to_text(utc_now())


def _course_record(row: RowMapping) -> CourseRecord:
    return CourseRecord(
        id=row["id"],
        patient_id=row["patient_id"],
        therapy=row["therapy"],
        subtype=row["subtype"],
        subtype_basis=row["subtype_basis"],
        agent=row["agent"],
        dose=row["dose"],
        route=row["route"],
        start=row["start_date"],
        stop=row["stop_date"],
        stop_reason=row["stop_reason"],
        note=row["note"],
        **_stamps(row),
    )


def _measurement_record(row: RowMapping) -> MeasurementRecord:
    values = {name: row[name] for name in MEASURED}
    return MeasurementRecord(
        id=row["id"],
        patient_id=row["patient_id"],
        date=row["visit_date"],
        course_id=row["course_id"],
        site=row["site"],
        note=row["note"],
        **values,
        **_stamps(row),
    )


def _event_record(row: RowMapping) -> AdverseEventRecord:
    return AdverseEventRecord(
        id=row["id"],
        patient_id=row["patient_id"],
        course_id=row["course_id"],
        date=row["event_date"],
        description=row["description"],
        severity=row["severity"],
        **_stamps(row),
    )


def _stamps(row: RowMapping) -> dict[str, Any]:
    return {k: row[k] for k in ("created_at", "created_by", "updated_at", "deleted_at", "deleted_by")}


# Correctable fields per entity: record field -> column.
COURSE_FIELDS = {
    "therapy": "therapy",
    "subtype": "subtype",
    "agent": "agent",
    "dose": "dose",
    "route": "route",
    "start": "start_date",
    "stop": "stop_date",
    "stop_reason": "stop_reason",
    "note": "note",
}
MEASUREMENT_COLUMNS = {
    "date": "visit_date",
    "course": "course_id",
    "site": "site",
    "note": "note",
    **{f: f for f in MEASURED},
}
EVENT_FIELDS = {"date": "event_date", "description": "description", "severity": "severity"}
ENTITY_TABLES: dict[str, Table] = {
    "course": T.course,
    "measurement": T.measurement,
    "adverse_event": T.adverse_event,
}


def _json(values: Mapping[str, Any]) -> str:
    return orjson.dumps(dict(values), default=str).decode()


class Registry:
    """Courses, visits and adverse events per patient, on SQLite or PostgreSQL (see ``open_registry``)."""

    def __init__(self, engine: Engine, pack: KnowledgePack) -> None:
        self.engine = engine
        self.pack = pack

    @property
    def kind(self) -> str:
        return "postgresql" if self.engine.dialect.name == "postgresql" else "sqlite"

    def close(self) -> None:
        self.engine.dispose()

    # ---- transactions
    def write(self, fn: Callable[[Connection], R], action: str = "write") -> R:
        """Run ``fn`` in one write transaction, committed before this returns."""
        try:
            with self.engine.begin() as conn:
                return fn(conn)
        except CalcinosisError:
            raise
        except IntegrityError as exc:
            raise DuplicateRecord(
                f"registry: {action} conflicts with a record already stored (nothing was written)"
            ) from exc
        except SQLAlchemyError as exc:
            raise StoreError(
                f"registry: {action} failed ({type(exc).__name__}); nothing was written"
            ) from exc

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        try:
            with self.engine.connect().execution_options(**{READ: True}) as conn:
                yield conn
                conn.rollback()
        except CalcinosisError:
            raise
        except SQLAlchemyError as exc:
            raise StoreError(f"registry: read failed ({type(exc).__name__})") from exc

    def read(self, fn: Callable[[Connection], R]) -> R:
        with self.reading() as conn:
            return fn(conn)

    def healthy(self) -> bool:
        try:
            self.read(lambda c: c.execute(select(func.count()).select_from(T.patient)).scalar_one())
        except StoreError:
            return False
        return True

    # ---- helpers inside a write
    def _touch_patient(self, conn: Connection, patient_id: str, by: str) -> None:
        touch_patient(conn, patient_id, by)

    def check_therapy(self, therapy: str) -> None:
        if therapy not in self.pack.therapies:
            raise InputError(
                f"therapy '{therapy}' is not in the knowledge pack (list them with `calcinosis therapies`)"
            )

    @staticmethod
    def _current(conn: Connection, table: Table, record_id: int, what: str) -> RowMapping:
        row = (
            conn.execute(select(table).where(table.c.id == record_id, table.c.deleted_at.is_(None)))
            .mappings()
            .first()
        )
        if row is None:
            raise NotFoundError(f"no {what} {record_id} in the registry")
        return row

    def _course_of(self, conn: Connection, course_id: int, patient_id: str | None = None) -> RowMapping:
        row = self._current(conn, T.course, course_id, "treatment course")
        if patient_id is not None and row["patient_id"] != patient_id:
            raise InputError(f"course {course_id} belongs to another patient")
        return row

    @staticmethod
    def _revise(
        conn: Connection,
        entity: str,
        entity_id: str,
        patient_id: str,
        action: str,
        before: Mapping[str, Any],
        after: Mapping[str, Any] | None,
        by: str,
        reason: str,
    ) -> None:
        conn.execute(
            insert(T.revision).values(
                changed_at=now_text(),
                changed_by=by,
                reason=reason,
                entity=entity,
                entity_id=entity_id,
                patient_id=patient_id,
                action=action,
                values_before=_json(before),
                values_after=_json(after) if after is not None else None,
            )
        )

    def default_subtype(self, conn: Connection, patient_id: str) -> tuple[str, str]:
        """The subtype a new course is recorded under when none is given: the latest course's, else
        undetermined."""
        row = conn.execute(
            select(T.course.c.subtype)
            .where(T.course.c.patient_id == patient_id, T.course.c.deleted_at.is_(None))
            .order_by(T.course.c.start_date.desc(), T.course.c.id.desc())
            .limit(1)
        ).first()
        if row is not None:
            return str(row[0]), "as this patient's previous course"
        return SubtypeCode.UNDETERMINED.value, "not given"

    # ---- patients
    def register_patient(
        self, patient_id: str, by: str, case: Mapping[str, Any] | None = None
    ) -> PatientRecord:
        """Register a patient (idempotent); with ``case``, store the patient's facts (native case JSON) for
        the next assessment, keeping any previous case in the history."""

        def run(conn: Connection) -> PatientRecord:
            self._touch_patient(conn, patient_id, by)
            if case is not None:
                old = conn.execute(select(T.patient.c.case_json).where(T.patient.c.id == patient_id)).scalar()
                new = orjson.dumps(dict(case)).decode()
                if old is not None and old != new:
                    self._revise(
                        conn,
                        "patient",
                        patient_id,
                        patient_id,
                        "update",
                        {"case": orjson.loads(old)},
                        {"case": dict(case)},
                        by,
                        "case facts replaced",
                    )
                conn.execute(
                    update(T.patient)
                    .where(T.patient.c.id == patient_id)
                    .values(case_json=new, updated_at=now_text() if old is not None else None)
                )
            return self._patient(conn, patient_id)

        return self.write(run, "registering the patient")

    def claim_patient(self, patient_id: str, by: str) -> bool:
        """Register a patient only if new; True when this call registered it (one of several processes)."""

        def run(conn: Connection) -> bool:
            values = {"id": patient_id, "version": 0, "created_at": now_text(), "created_by": by}
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            stmt = dialect.insert(T.patient).values(**values).on_conflict_do_nothing(index_elements=["id"])
            return bool(conn.execute(stmt).rowcount == 1)

        return self.write(run, "registering the patient")

    @staticmethod
    def _patient(conn: Connection, patient_id: str) -> PatientRecord:
        row = conn.execute(select(T.patient).where(T.patient.c.id == patient_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"no patient '{patient_id}' in the registry")
        return PatientRecord(
            id=row["id"],
            case=orjson.loads(row["case_json"]) if row["case_json"] else None,
            version=row["version"],
            **_stamps(row),
        )

    def patient(self, patient_id: str) -> PatientRecord:
        return self.read(lambda conn: self._patient(conn, patient_id))

    def patient_ids(self) -> list[str]:
        return self.read(
            lambda conn: [str(r[0]) for r in conn.execute(select(T.patient.c.id).order_by(T.patient.c.id))]
        )

    # ---- courses
    def start_course(
        self, patient_id: str, course: CourseStart, by: str, subtype_hint: tuple[str, str] | None = None
    ) -> CourseRecord:
        """Record a course. Its subtype (what local evidence groups it under) is the one given, else
        ``subtype_hint`` (subtype, basis: e.g. the patient's latest assessment), else the subtype of the
        patient's previous course, else undetermined; the basis is kept with it."""
        self.check_therapy(course.therapy)

        def run(conn: Connection) -> CourseRecord:
            self._touch_patient(conn, patient_id, by)
            if course.subtype is not None:
                subtype, basis = course.subtype.value, "given"
            elif subtype_hint is not None:
                subtype, basis = subtype_hint
            else:
                subtype, basis = self.default_subtype(conn, patient_id)
            values = {
                "patient_id": patient_id,
                "therapy": course.therapy,
                "subtype": subtype,
                "subtype_basis": basis,
                "agent": course.agent,
                "dose": course.dose,
                "route": course.route,
                "start_date": course.start,
                "stop_date": course.stop,
                "stop_reason": course.stop_reason,
                "note": course.note,
                "created_at": now_text(),
                "created_by": by,
            }
            course_id: int = conn.execute(
                insert(T.course).values(**values).returning(T.course.c.id)
            ).scalar_one()
            return _course_record(self._current(conn, T.course, course_id, "treatment course"))

        return self.write(run, "starting the course")

    def stop_course(self, course_id: int, stop: CourseStop, by: str) -> CourseRecord:
        def run(conn: Connection) -> CourseRecord:
            row = self._course_of(conn, course_id)
            self._touch_patient(conn, row["patient_id"], by)
            if row["stop_date"] is not None:
                raise InputError(
                    f"course {course_id} already stopped on {row['stop_date']} (correct it to change the date)"
                )
            if stop.stop < row["start_date"]:
                raise InputError(
                    f"stop {stop.stop} is before course {course_id} started ({row['start_date']})"
                )
            conn.execute(
                update(T.course)
                .where(T.course.c.id == course_id)
                .values(stop_date=stop.stop, stop_reason=stop.reason, updated_at=now_text())
            )
            return _course_record(self._current(conn, T.course, course_id, "treatment course"))

        return self.write(run, "stopping the course")

    def courses(
        self, patient_id: str | None = None, therapy: str | None = None, *, deleted: bool = False
    ) -> list[CourseRecord]:
        query = select(T.course).order_by(T.course.c.start_date, T.course.c.id)
        if patient_id is not None:
            query = query.where(T.course.c.patient_id == patient_id)
        if therapy is not None:
            query = query.where(T.course.c.therapy == therapy)
        if not deleted:
            query = query.where(T.course.c.deleted_at.is_(None))
        return self.read(lambda conn: [_course_record(r) for r in conn.execute(query).mappings()])

    def course(self, course_id: int) -> CourseRecord:
        return self.read(
            lambda conn: _course_record(self._current(conn, T.course, course_id, "treatment course"))
        )

    # ---- visits
    def add_visit(self, patient_id: str, visit: VisitIn, by: str) -> list[MeasurementRecord]:
        """One visit's measurements (one per site), all or nothing."""

        def run(conn: Connection) -> list[MeasurementRecord]:
            self._touch_patient(conn, patient_id, by)
            if visit.course is not None:
                course = self._course_of(conn, visit.course, patient_id)
                if visit.date < course["start_date"]:
                    raise InputError(
                        f"visit date {visit.date} is before course {visit.course} started ({course['start_date']})"
                    )
            return [
                self._insert_measurement(conn, patient_id, visit.date, visit.course, m, by)
                for m in visit.measurements
            ]

        return self.write(run, "adding the visit")

    @staticmethod
    def _no_duplicate(
        conn: Connection, patient_id: str, date: dt.date, site: str | None, ignore: int | None = None
    ) -> None:
        params = {"pid": patient_id, "day": date, "key": site_key(site)}
        rows = conn.execute(DUPLICATE, params).all()
        found = [int(r[0]) for r in rows if int(r[0]) != ignore]
        existing = found[0] if found else None
        if existing is not None:
            where = f"site '{site}'" if site else "the whole patient"
            raise DuplicateRecord(
                f"a visit on {date} for {where} is already recorded (measurement {existing}); "
                "correct that one instead"
            )

    def _insert_measurement(
        self,
        conn: Connection,
        patient_id: str,
        date: dt.date,
        course_id: int | None,
        m: MeasurementIn,
        by: str,
    ) -> MeasurementRecord:
        self._no_duplicate(conn, patient_id, date, m.site)
        values = {
            "patient_id": patient_id,
            "visit_date": date,
            "course_id": course_id,
            "site": m.site,
            "site_key": site_key(m.site),
            "note": m.note,
            "created_at": now_text(),
            "created_by": by,
            **{f: getattr(m, f) for f in MEASURED},
        }
        new_id = int(conn.execute(INSERT_MEASUREMENT, values).scalar_one())
        return MeasurementRecord(
            id=new_id,
            patient_id=patient_id,
            date=date,
            course_id=course_id,
            site=m.site,
            note=m.note,
            created_at=values["created_at"],
            created_by=by,
            **{f: getattr(m, f) for f in MEASURED},
        )

    def measurements(self, patient_id: str, *, deleted: bool = False) -> list[MeasurementRecord]:
        query = (
            select(T.measurement)
            .where(T.measurement.c.patient_id == patient_id)
            .order_by(T.measurement.c.visit_date, T.measurement.c.id)
        )
        if not deleted:
            query = query.where(T.measurement.c.deleted_at.is_(None))
        return self.read(lambda conn: [_measurement_record(r) for r in conn.execute(query).mappings()])

    # ---- adverse events
    def add_adverse_event(self, course_id: int, event: AdverseEventIn, by: str) -> AdverseEventRecord:
        def run(conn: Connection) -> AdverseEventRecord:
            course = self._course_of(conn, course_id)
            self._touch_patient(conn, course["patient_id"], by)
            if event.date < course["start_date"]:
                raise InputError(
                    f"adverse event date {event.date} is before course {course_id} started ({course['start_date']})"
                )
            values = {
                "patient_id": course["patient_id"],
                "course_id": course_id,
                "event_date": event.date,
                "description": event.description,
                "severity": event.severity,
                "created_at": now_text(),
                "created_by": by,
            }
            event_id: int = conn.execute(
                insert(T.adverse_event).values(**values).returning(T.adverse_event.c.id)
            ).scalar_one()
            return _event_record(self._current(conn, T.adverse_event, event_id, "adverse event"))

        return self.write(run, "adding the adverse event")

    def adverse_events(self, patient_id: str, *, deleted: bool = False) -> list[AdverseEventRecord]:
        query = (
            select(T.adverse_event)
            .where(T.adverse_event.c.patient_id == patient_id)
            .order_by(T.adverse_event.c.event_date, T.adverse_event.c.id)
        )
        if not deleted:
            query = query.where(T.adverse_event.c.deleted_at.is_(None))
        return self.read(lambda conn: [_event_record(r) for r in conn.execute(query).mappings()])

    # ---- corrections and deletions
    def correct(self, entity: str, record_id: int, changes: Mapping[str, Any], reason: str, by: str) -> Any:
        """Change some fields of one current record; the old values go to the history with ``reason``.
        The corrected record is checked like a new one. Returns the corrected record."""
        if entity not in ENTITY_TABLES:
            raise InputError(f"cannot correct a '{entity}' (course, measurement or adverse_event)")
        reason = parse(Correction, {"changes": dict(changes), "reason": reason}, "correction").reason

        def run(conn: Connection) -> Any:
            table = ENTITY_TABLES[entity]
            row = self._current(conn, table, record_id, entity.replace("_", " "))
            self._touch_patient(conn, row["patient_id"], by)
            values = self._corrected(conn, entity, row, changes)
            before = {k: row[k] for k in values}
            after = dict(values)
            if before == after:
                raise InputError(f"{entity} {record_id}: the correction changes nothing")
            conn.execute(update(table).where(table.c.id == record_id).values(**values, updated_at=now_text()))
            self._revise(
                conn,
                entity,
                str(record_id),
                row["patient_id"],
                "update",
                before,
                after,
                by,
                reason,
            )
            fresh = self._current(conn, table, record_id, entity)
            return {
                "course": _course_record,
                "measurement": _measurement_record,
                "adverse_event": _event_record,
            }[entity](fresh)

        return self.write(run, f"correcting the {entity.replace('_', ' ')}")

    def _corrected(
        self, conn: Connection, entity: str, row: RowMapping, changes: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The new column values of a corrected record, after the same checks as a new record."""
        fields = {"course": COURSE_FIELDS, "measurement": MEASUREMENT_COLUMNS, "adverse_event": EVENT_FIELDS}[
            entity
        ]
        unknown = sorted(set(changes) - set(fields))
        if unknown:
            raise InputError(f"{entity}: cannot correct {', '.join(unknown)} (fields: {', '.join(fields)})")
        current = {field: row[column] for field, column in fields.items()}
        merged = {k: v for k, v in {**current, **changes}.items() if v is not None}
        patient_id = row["patient_id"]
        if entity == "course":
            model = parse(CourseStart, merged, "course")
            self.check_therapy(model.therapy)
            self._check_course_dates(conn, row["id"], model.start)
            out = {c: getattr(model, f) for f, c in fields.items()}
            out["subtype"] = model.subtype.value if model.subtype else row["subtype"]
            if out["subtype"] != row["subtype"]:
                out["subtype_basis"] = "corrected"
            return out
        if entity == "measurement":
            course_id = merged.pop("course", None)
            date = merged.pop("date")
            m = parse(MeasurementIn, merged, "measurement")
            visit = parse(VisitIn, {"date": date, "course": course_id, "measurements": [merged]}, "visit")
            if course_id is not None:
                course = self._course_of(conn, course_id, patient_id)
                if visit.date < course["start_date"]:
                    raise InputError(
                        f"visit date {visit.date} is before course {course_id} started ({course['start_date']})"
                    )
            self._no_duplicate(conn, patient_id, visit.date, m.site, ignore=row["id"])
            out = {
                "visit_date": visit.date,
                "course_id": course_id,
                "site": m.site,
                "site_key": site_key(m.site),
            }
            out.update({f: getattr(m, f) for f in MEASURED})
            out["note"] = m.note
            return out
        event = parse(AdverseEventIn, merged, "adverse_event")
        course = self._course_of(conn, row["course_id"])
        if event.date < course["start_date"]:
            raise InputError(
                f"adverse event date {event.date} is before course {row['course_id']} started ({course['start_date']})"
            )
        return {"event_date": event.date, "description": event.description, "severity": event.severity}

    @staticmethod
    def _check_course_dates(conn: Connection, course_id: int, start: dt.date) -> None:
        early = conn.execute(
            select(func.min(T.measurement.c.visit_date)).where(
                T.measurement.c.course_id == course_id, T.measurement.c.deleted_at.is_(None)
            )
        ).scalar()
        if early is not None and early < start:
            raise InputError(f"course {course_id} has a visit on {early}, before the new start {start}")
        early_event = conn.execute(
            select(func.min(T.adverse_event.c.event_date)).where(
                T.adverse_event.c.course_id == course_id, T.adverse_event.c.deleted_at.is_(None)
            )
        ).scalar()
        if early_event is not None and early_event < start:
            raise InputError(
                f"course {course_id} has an adverse event on {early_event}, before the new start {start}"
            )

    def delete(self, entity: str, record_id: int, reason: str, by: str) -> None:
        """Mark one record deleted (its row and a revision with the values stay). Deleting a course deletes
        its adverse events too, each with its own revision; visits that named it keep their values."""
        if entity not in ENTITY_TABLES:
            raise InputError(f"cannot delete a '{entity}' (course, measurement or adverse_event)")
        reason = parse(Deletion, {"reason": reason}, "deletion").reason

        def run(conn: Connection) -> None:
            table = ENTITY_TABLES[entity]
            row = self._current(conn, table, record_id, entity.replace("_", " "))
            self._touch_patient(conn, row["patient_id"], by)
            doomed: list[tuple[str, Table, RowMapping]] = [(entity, table, row)]
            if entity == "course":
                events = conn.execute(
                    select(T.adverse_event).where(
                        T.adverse_event.c.course_id == record_id, T.adverse_event.c.deleted_at.is_(None)
                    )
                ).mappings()
                doomed += [("adverse_event", T.adverse_event, e) for e in events]
            stamp = now_text()
            for name, tbl, r in doomed:
                before = {str(k): r[k] for k in r.keys() if k not in ("deleted_at", "deleted_by")}
                self._revise(conn, name, str(r["id"]), r["patient_id"], "delete", before, None, by, reason)
                conn.execute(update(tbl).where(tbl.c.id == r["id"]).values(deleted_at=stamp, deleted_by=by))

        self.write(run, f"deleting the {entity.replace('_', ' ')}")

    def history(self, patient_id: str) -> list[Revision]:
        """Every correction and deletion for this patient, oldest first, with the old values."""

        def run(conn: Connection) -> list[Revision]:
            rows = conn.execute(
                select(T.revision).where(T.revision.c.patient_id == patient_id).order_by(T.revision.c.id)
            ).mappings()
            return [
                Revision(
                    id=r["id"],
                    changed_at=r["changed_at"],
                    changed_by=r["changed_by"],
                    reason=r["reason"],
                    entity=r["entity"],
                    entity_id=r["entity_id"],
                    patient_id=r["patient_id"],
                    action=r["action"],
                    before=orjson.loads(r["values_before"]),
                    after=orjson.loads(r["values_after"]) if r["values_after"] else None,
                )
                for r in rows
            ]

        return self.read(run)

    # ---- the engine's view
    def case_of(self, patient_id: str, *, with_facts: bool = True) -> Case:
        """The patient as the engine reads it: the stored facts (if any) plus courses and measurements."""
        return self.read(lambda conn: self._case(conn, patient_id, with_facts=with_facts))

    def _case(self, conn: Connection, patient_id: str, *, with_facts: bool) -> Case:
        record = self._patient(conn, patient_id)
        return cases_for(conn, [patient_id], {patient_id: record.case if with_facts else None})[patient_id]


def _touch(dialect: Any) -> Any:
    stmt = dialect.insert(T.patient).values(
        id=bindparam("pid"), version=1, created_at=bindparam("at"), created_by=bindparam("by")
    )
    return stmt.on_conflict_do_update(index_elements=["id"], set_={"version": T.patient.c.version + 1})


# The statements of the busiest writes, built once (SQLAlchemy then reuses their compiled form).
TOUCH = {"postgresql": _touch(postgresql), "sqlite": _touch(sqlite)}
DUPLICATE = select(T.measurement.c.id).where(
    T.measurement.c.patient_id == bindparam("pid"),
    T.measurement.c.visit_date == bindparam("day"),
    T.measurement.c.site_key == bindparam("key"),
    T.measurement.c.deleted_at.is_(None),
)
INSERT_MEASUREMENT = insert(T.measurement).returning(T.measurement.c.id)


def touch_patient(conn: Connection, patient_id: str, by: str) -> None:
    """Register the patient when new, and bump its version (the outcomes of its courses are stale). On
    PostgreSQL the update holds the patient's row lock until commit: writes to one patient take turns."""
    stmt = TOUCH["postgresql" if conn.dialect.name == "postgresql" else "sqlite"]
    conn.execute(stmt, {"pid": patient_id, "at": now_text(), "by": by})


def _chunks(items: Sequence[R], size: int = 500) -> Iterable[Sequence[R]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def cases_for(
    conn: Connection, patient_ids: Sequence[str], facts: Mapping[str, Mapping[str, Any] | None] | None = None
) -> dict[str, Case]:
    """Cases for many patients at once (three queries per 500 patients): courses with their adverse events,
    and measurements. ``facts`` adds each patient's stored case facts."""
    courses: dict[str, list[Course]] = {p: [] for p in patient_ids}
    measures: dict[str, list[Measurement]] = {p: [] for p in patient_ids}
    for chunk in _chunks(list(patient_ids)):
        events: dict[int, list[AdverseEvent]] = {}
        for e in conn.execute(
            select(T.adverse_event)
            .where(T.adverse_event.c.patient_id.in_(chunk), T.adverse_event.c.deleted_at.is_(None))
            .order_by(T.adverse_event.c.event_date, T.adverse_event.c.id)
        ).mappings():
            events.setdefault(e["course_id"], []).append(
                AdverseEvent(
                    id=f"{EVENT_PREFIX}{e['id']}",
                    date=e["event_date"],
                    description=e["description"],
                    severity=e["severity"],
                )
            )
        for c in conn.execute(
            select(T.course)
            .where(T.course.c.patient_id.in_(chunk), T.course.c.deleted_at.is_(None))
            .order_by(T.course.c.start_date, T.course.c.id)
        ).mappings():
            courses[c["patient_id"]].append(
                Course(
                    id=f"{COURSE_PREFIX}{c['id']}",
                    therapy=c["therapy"],
                    agent=c["agent"],
                    dose=c["dose"],
                    route=c["route"],
                    start=c["start_date"],
                    stop=c["stop_date"],
                    stop_reason=c["stop_reason"],
                    adverse_events=tuple(events.get(c["id"], ())),
                )
            )
        for m in conn.execute(
            select(T.measurement)
            .where(T.measurement.c.patient_id.in_(chunk), T.measurement.c.deleted_at.is_(None))
            .order_by(T.measurement.c.visit_date, T.measurement.c.id)
        ).mappings():
            measures[m["patient_id"]].append(
                Measurement(
                    id=f"{MEASUREMENT_PREFIX}{m['id']}",
                    date=m["visit_date"],
                    site=m["site"],
                    **{f: m[f] for f in MEASURED},
                )
            )
    out: dict[str, Case] = {}
    for pid in patient_ids:
        base = dict((facts or {}).get(pid) or {})
        base.pop("courses", None)
        base.pop("measurements", None)
        base["id"] = pid
        out[pid] = Case.model_validate({**base, "courses": courses[pid], "measurements": measures[pid]})
    return out


def course_number(course_id: str) -> int | None:
    """``course-12`` (the id a Course carries in a Case built here) -> 12."""
    if course_id.startswith(COURSE_PREFIX) and course_id[len(COURSE_PREFIX) :].isdigit():
        return int(course_id[len(COURSE_PREFIX) :])
    return None
