"""``calcinosis registry export --parquet DIR``: the registry as de-identified Parquet tables.

Pseudonymous patient ids only; no free text (course notes, measurement notes, adverse event descriptions,
stored case facts and who entered what stay in the database); deleted records are left out. Courses carry
their computed response (refreshed first). Written through DuckDB from an NDJSON work file with explicit
column types, so that DuckDB (and the screening report) can join them by ``patient_id``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import orjson
from sqlalchemy import Select, select

from calcinosis.errors import InputError
from calcinosis.registry import tables as T
from calcinosis.registry.evidence import refresh_outcomes
from calcinosis.registry.store import Registry

TABLES: dict[str, dict[str, str]] = {
    "patients": {"patient_id": "VARCHAR", "registered_on": "DATE", "has_facts": "BOOLEAN"},
    "courses": {
        "course_id": "BIGINT",
        "patient_id": "VARCHAR",
        "therapy": "VARCHAR",
        "subtype": "VARCHAR",
        "agent": "VARCHAR",
        "dose": "VARCHAR",
        "route": "VARCHAR",
        "start_date": "DATE",
        "stop_date": "DATE",
        "stop_reason": "VARCHAR",
        "response": "VARCHAR",
        "adequate": "BOOLEAN",
        "running": "BOOLEAN",
        "duration_days": "INTEGER",
        "adverse_events": "INTEGER",
    },
    "measurements": {
        "measurement_id": "BIGINT",
        "patient_id": "VARCHAR",
        "course_id": "BIGINT",
        "visit_date": "DATE",
        "site": "VARCHAR",
        "count": "INTEGER",
        "largest_mm": "DOUBLE",
        "sctc_score": "DOUBLE",
        "pain_vas": "DOUBLE",
        "ulceration": "BOOLEAN",
        "inflammation": "BOOLEAN",
        "infection": "BOOLEAN",
        "new_lesions": "BOOLEAN",
        "patient_global": "DOUBLE",
        "physician_global": "DOUBLE",
    },
    "adverse_events": {
        "adverse_event_id": "BIGINT",
        "patient_id": "VARCHAR",
        "course_id": "BIGINT",
        "event_date": "DATE",
        "severity": "VARCHAR",
    },
}


def _queries() -> dict[str, Select[Any]]:
    c, o, m, e, p = T.course, T.course_outcome, T.measurement, T.adverse_event, T.patient
    return {
        "patients": select(p.c.id, p.c.created_at, p.c.case_json.is_not(None)).order_by(p.c.id),
        "courses": select(
            c.c.id, c.c.patient_id, c.c.therapy, c.c.subtype, c.c.agent, c.c.dose, c.c.route,
            c.c.start_date, c.c.stop_date, c.c.stop_reason,
            o.c.category, o.c.adequate, o.c.running, o.c.duration_days, o.c.adverse_events,
        )
        .select_from(c.outerjoin(o, o.c.course_id == c.c.id))
        .where(c.c.deleted_at.is_(None))
        .order_by(c.c.id),
        "measurements": select(
            m.c.id, m.c.patient_id, m.c.course_id, m.c.visit_date, m.c.site, m.c.count, m.c.largest_mm,
            m.c.sctc_score, m.c.pain_vas, m.c.ulceration, m.c.inflammation, m.c.infection, m.c.new_lesions,
            m.c.patient_global, m.c.physician_global,
        )
        .where(m.c.deleted_at.is_(None))
        .order_by(m.c.id),
        "adverse_events": select(e.c.id, e.c.patient_id, e.c.course_id, e.c.event_date, e.c.severity)
        .where(e.c.deleted_at.is_(None))
        .order_by(e.c.id),
    }  # fmt: skip


def _rows(registry: Registry, table: str, query: Select[Any]) -> Iterable[dict[str, Any]]:
    names = list(TABLES[table])
    with registry.reading() as conn:
        for row in conn.execution_options(yield_per=5000).execute(query):
            values = list(row)
            if table == "patients":
                values[1] = str(values[1])[:10]
            yield dict(zip(names, values, strict=True))


def export_parquet(registry: Registry, out_dir: Path) -> dict[str, int]:
    """Write ``patients``, ``courses``, ``measurements`` and ``adverse_events`` .parquet; returns row counts."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    refresh_outcomes(registry)
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="calcinosis-export-") as work, duckdb.connect(":memory:") as con:
        con.execute("SET threads = 2")
        for table, query in _queries().items():
            work_file = Path(work) / f"{table}.ndjson"
            n = 0
            with work_file.open("wb") as out:
                for row in _rows(registry, table, query):
                    out.write(orjson.dumps(row, default=str) + b"\n")
                    n += 1
            counts[table] = n
            columns = TABLES[table]
            target = str(out_dir / f"{table}.parquet").replace("'", "''")
            if n:
                spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"
                source = f"SELECT * FROM read_ndjson('{str(work_file).replace(chr(39), chr(39) * 2)}', columns = {spec})"  # noqa: S608
            else:
                source = "SELECT " + ", ".join(f"NULL::{v} AS {k}" for k, v in columns.items()) + " LIMIT 0"
            con.execute(f"COPY ({source}) TO '{target}' (FORMAT parquet)")
    return counts
