"""The registry: patients, treatment courses, visit measurements, adverse events, revisions, outcomes.

Revision ID: 0001
Revises:
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STOP_REASONS = "'ineffective', 'adverse-event', 'resolved', 'patient-choice', 'other'"
SEVERITIES = "'mild', 'moderate', 'severe', 'life-threatening'"


def _stamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=True),
        sa.Column("deleted_at", sa.String(32), nullable=True),
        sa.Column("deleted_by", sa.String(200), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "registry_patient",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("case_json", sa.Text, nullable=True),
        sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("0")),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_registry_patient"),
    )
    op.create_table(
        "registry_course",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("therapy", sa.String(64), nullable=False),
        sa.Column("subtype", sa.String(32), nullable=False),
        sa.Column("subtype_basis", sa.String(200), nullable=True),
        sa.Column("agent", sa.String(80), nullable=True),
        sa.Column("dose", sa.String(80), nullable=True),
        sa.Column("route", sa.String(80), nullable=True),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("stop_date", sa.Date, nullable=True),
        sa.Column("stop_reason", sa.String(32), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        *_stamps(),
        sa.CheckConstraint(
            "stop_date IS NULL OR stop_date >= start_date", name="ck_registry_course_stop_after_start"
        ),
        sa.CheckConstraint(
            f"stop_reason IS NULL OR stop_reason IN ({STOP_REASONS})", name="ck_registry_course_stop_reason"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["registry_patient.id"], name="fk_registry_course_patient_id_registry_patient"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_registry_course"),
    )
    op.create_index("ix_registry_course_patient_id", "registry_course", ["patient_id"])
    op.create_index("ix_registry_course_therapy_subtype", "registry_course", ["therapy", "subtype"])
    op.create_table(
        "registry_measurement",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("visit_date", sa.Date, nullable=False),
        sa.Column("course_id", sa.Integer, nullable=True),
        sa.Column("site", sa.String(80), nullable=True),
        sa.Column("site_key", sa.String(80), nullable=False),
        sa.Column("count", sa.Integer, nullable=True),
        sa.Column("largest_mm", sa.Float, nullable=True),
        sa.Column("sctc_score", sa.Float, nullable=True),
        sa.Column("pain_vas", sa.Float, nullable=True),
        sa.Column("ulceration", sa.Boolean, nullable=True),
        sa.Column("inflammation", sa.Boolean, nullable=True),
        sa.Column("infection", sa.Boolean, nullable=True),
        sa.Column("new_lesions", sa.Boolean, nullable=True),
        sa.Column("patient_global", sa.Float, nullable=True),
        sa.Column("physician_global", sa.Float, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        *_stamps(),
        sa.CheckConstraint("count IS NULL OR count >= 0", name="ck_registry_measurement_count"),
        sa.CheckConstraint(
            "largest_mm IS NULL OR largest_mm >= 0", name="ck_registry_measurement_largest_mm"
        ),
        sa.CheckConstraint(
            "sctc_score IS NULL OR sctc_score >= 0", name="ck_registry_measurement_sctc_score"
        ),
        sa.CheckConstraint(
            "pain_vas IS NULL OR (pain_vas >= 0 AND pain_vas <= 10)", name="ck_registry_measurement_pain_vas"
        ),
        sa.CheckConstraint(
            "patient_global IS NULL OR (patient_global >= 0 AND patient_global <= 10)",
            name="ck_registry_measurement_patient_global",
        ),
        sa.CheckConstraint(
            "physician_global IS NULL OR (physician_global >= 0 AND physician_global <= 10)",
            name="ck_registry_measurement_physician_global",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["registry_patient.id"],
            name="fk_registry_measurement_patient_id_registry_patient",
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["registry_course.id"], name="fk_registry_measurement_course_id_registry_course"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_registry_measurement"),
    )
    op.create_index(
        "ix_registry_measurement_patient_id_visit_date", "registry_measurement", ["patient_id", "visit_date"]
    )
    op.create_index(
        "uq_registry_measurement_visit",
        "registry_measurement",
        ["patient_id", "visit_date", "site_key"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "registry_adverse_event",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("course_id", sa.Integer, nullable=False),
        sa.Column("event_date", sa.Date, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("severity", sa.String(32), nullable=True),
        *_stamps(),
        sa.CheckConstraint(
            f"severity IS NULL OR severity IN ({SEVERITIES})", name="ck_registry_adverse_event_severity"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["registry_patient.id"],
            name="fk_registry_adverse_event_patient_id_registry_patient",
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["registry_course.id"], name="fk_registry_adverse_event_course_id_registry_course"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_registry_adverse_event"),
    )
    op.create_index("ix_registry_adverse_event_course_id", "registry_adverse_event", ["course_id"])
    op.create_table(
        "registry_revision",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("changed_at", sa.String(32), nullable=False),
        sa.Column("changed_by", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("values_before", sa.Text, nullable=False),
        sa.Column("values_after", sa.Text, nullable=True),
        sa.CheckConstraint(
            "entity IN ('patient', 'course', 'measurement', 'adverse_event')",
            name="ck_registry_revision_entity",
        ),
        sa.CheckConstraint("action IN ('update', 'delete')", name="ck_registry_revision_action"),
        sa.PrimaryKeyConstraint("id", name="pk_registry_revision"),
    )
    op.create_index("ix_registry_revision_patient_id", "registry_revision", ["patient_id"])
    op.create_index("ix_registry_revision_entity_entity_id", "registry_revision", ["entity", "entity_id"])
    op.create_table(
        "registry_course_outcome",
        sa.Column("course_id", sa.Integer, nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("patient_version", sa.Integer, nullable=False),
        sa.Column("pack_hash", sa.String(64), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("adequate", sa.Boolean, nullable=True),
        sa.Column("running", sa.Boolean, nullable=False),
        sa.Column("duration_days", sa.Integer, nullable=True),
        sa.Column("adverse_events", sa.Integer, nullable=False),
        sa.Column("computed_at", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"], ["registry_course.id"], name="fk_registry_course_outcome_course_id_registry_course"
        ),
        sa.PrimaryKeyConstraint("course_id", name="pk_registry_course_outcome"),
    )
    _append_only()


def _append_only() -> None:
    """Revisions are history: the database itself refuses to change or remove one."""
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION registry_revision_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'registry_revision is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER registry_revision_append_only BEFORE UPDATE OR DELETE ON registry_revision "
            "FOR EACH ROW EXECUTE FUNCTION registry_revision_append_only()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER registry_revision_no_{event.lower()} BEFORE {event} ON registry_revision "
            "BEGIN SELECT RAISE(ABORT, 'registry_revision is append-only'); END"
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS registry_revision_append_only ON registry_revision")
        op.execute("DROP FUNCTION IF EXISTS registry_revision_append_only()")
    for table in (
        "registry_course_outcome",
        "registry_revision",
        "registry_adverse_event",
        "registry_measurement",
        "registry_course",
        "registry_patient",
    ):
        op.drop_table(table)
