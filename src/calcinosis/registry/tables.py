"""The registry's tables (SQLAlchemy Core): the one description of the schema.

Alembic migrations (``registry/migrations``) create and change these tables; a test checks that the
migrated schema of both databases matches this metadata. Current values live in the entity tables; every
correction or deletion is first copied to ``registry_revision`` (append-only: triggers refuse UPDATE and
DELETE there), and a deleted record keeps its row with ``deleted_at`` set, so nothing is lost.
``registry_course_outcome`` is derived data (each course's computed response), rebuilt when stale.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

PREFIX = "registry_"
VERSION_TABLE = "registry_alembic_version"
STOP_REASONS = ("ineffective", "adverse-event", "resolved", "patient-choice", "other")
SEVERITIES = ("mild", "moderate", "severe", "life-threatening")
ENTITIES = ("patient", "course", "measurement", "adverse_event")
ACTIONS = ("update", "delete")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _stamps() -> list[Column[object]]:
    """Who entered a record and when; who deleted it and when (NULL while it is current)."""
    return [
        Column("created_at", String(32), nullable=False),
        Column("created_by", String(200), nullable=False),
        Column("updated_at", String(32), nullable=True),
        Column("deleted_at", String(32), nullable=True),
        Column("deleted_by", String(200), nullable=True),
    ]


patient = Table(
    "registry_patient",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("case_json", Text, nullable=True),
    Column("version", Integer, nullable=False, server_default=text("0")),
    *_stamps(),
)

course = Table(
    "registry_course",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("patient_id", String(64), ForeignKey("registry_patient.id"), nullable=False),
    Column("therapy", String(64), nullable=False),
    Column("subtype", String(32), nullable=False),
    Column("subtype_basis", String(200), nullable=True),
    Column("agent", String(80), nullable=True),
    Column("dose", String(80), nullable=True),
    Column("route", String(80), nullable=True),
    Column("start_date", Date, nullable=False),
    Column("stop_date", Date, nullable=True),
    Column("stop_reason", String(32), nullable=True),
    Column("note", Text, nullable=True),
    *_stamps(),
    CheckConstraint("stop_date IS NULL OR stop_date >= start_date", name="stop_after_start"),
    CheckConstraint("stop_reason IS NULL OR " + _in("stop_reason", STOP_REASONS), name="stop_reason"),
    Index(None, "patient_id"),
    Index(None, "therapy", "subtype"),
)

measurement = Table(
    "registry_measurement",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("patient_id", String(64), ForeignKey("registry_patient.id"), nullable=False),
    Column("visit_date", Date, nullable=False),
    Column("course_id", Integer, ForeignKey("registry_course.id"), nullable=True),
    Column("site", String(80), nullable=True),
    Column("site_key", String(80), nullable=False),
    Column("count", Integer, nullable=True),
    Column("largest_mm", Float, nullable=True),
    Column("sctc_score", Float, nullable=True),
    Column("pain_vas", Float, nullable=True),
    Column("ulceration", Boolean, nullable=True),
    Column("inflammation", Boolean, nullable=True),
    Column("infection", Boolean, nullable=True),
    Column("new_lesions", Boolean, nullable=True),
    Column("patient_global", Float, nullable=True),
    Column("physician_global", Float, nullable=True),
    Column("note", Text, nullable=True),
    *_stamps(),
    CheckConstraint("count IS NULL OR count >= 0", name="count"),
    CheckConstraint("largest_mm IS NULL OR largest_mm >= 0", name="largest_mm"),
    CheckConstraint("sctc_score IS NULL OR sctc_score >= 0", name="sctc_score"),
    CheckConstraint("pain_vas IS NULL OR (pain_vas >= 0 AND pain_vas <= 10)", name="pain_vas"),
    CheckConstraint(
        "patient_global IS NULL OR (patient_global >= 0 AND patient_global <= 10)", name="patient_global"
    ),
    CheckConstraint(
        "physician_global IS NULL OR (physician_global >= 0 AND physician_global <= 10)",
        name="physician_global",
    ),
    Index(None, "patient_id", "visit_date"),
    # One current measurement per patient, date and site (a deleted one does not block re-entry).
    Index(
        "uq_registry_measurement_visit",
        "patient_id",
        "visit_date",
        "site_key",
        unique=True,
        sqlite_where=text("deleted_at IS NULL"),
        postgresql_where=text("deleted_at IS NULL"),
    ),
)

adverse_event = Table(
    "registry_adverse_event",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("patient_id", String(64), ForeignKey("registry_patient.id"), nullable=False),
    Column("course_id", Integer, ForeignKey("registry_course.id"), nullable=False),
    Column("event_date", Date, nullable=False),
    Column("description", Text, nullable=False),
    Column("severity", String(32), nullable=True),
    *_stamps(),
    CheckConstraint("severity IS NULL OR " + _in("severity", SEVERITIES), name="severity"),
    Index(None, "course_id"),
)

revision = Table(
    "registry_revision",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("changed_at", String(32), nullable=False),
    Column("changed_by", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("entity", String(32), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("action", String(16), nullable=False),
    Column("values_before", Text, nullable=False),
    Column("values_after", Text, nullable=True),
    CheckConstraint(_in("entity", ENTITIES), name="entity"),
    CheckConstraint(_in("action", ACTIONS), name="action"),
    Index(None, "patient_id"),
    Index(None, "entity", "entity_id"),
)

course_outcome = Table(
    "registry_course_outcome",
    metadata,
    Column("course_id", Integer, ForeignKey("registry_course.id"), primary_key=True),
    Column("patient_id", String(64), nullable=False),
    Column("patient_version", Integer, nullable=False),
    Column("pack_hash", String(64), nullable=False),
    Column("category", String(32), nullable=False),
    Column("adequate", Boolean, nullable=True),
    Column("running", Boolean, nullable=False),
    Column("duration_days", Integer, nullable=True),
    Column("adverse_events", Integer, nullable=False),
    Column("computed_at", String(32), nullable=False),
)

TABLES = (patient, course, measurement, adverse_event, revision, course_outcome)


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """For Alembic: only the registry's own tables (the audit store shares the database)."""
    if type_ == "table":
        return bool(name) and str(name).startswith(PREFIX) and name != VERSION_TABLE
    return True
