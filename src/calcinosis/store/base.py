"""The store contract and the SQL shared by SQLite and PostgreSQL.

Every write commits before it returns, so a request is acknowledged only once its record is durable.
SQL is written with ``?`` placeholders; a backend with another paramstyle rewrites them.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Literal

import orjson

from calcinosis.errors import StoreError
from calcinosis.store.records import (
    AuditEntry,
    FeedbackEntry,
    FeedbackTally,
    StoredAudit,
    StoredFeedback,
    to_text,
)

Row = Sequence[Any]

AUDIT_COLUMNS = (
    "id, request_id, recorded_at, channel, service, caller_iss, caller_client, pack_version, pack_hash, "
    "input_hash, status, output"
)
FEEDBACK_COLUMNS = (
    "f.id, f.service, f.card_uuid, f.outcome, f.accepted_suggestions, f.override_system, f.override_code, "
    "f.override_display, f.user_comment, f.outcome_timestamp, f.caller_iss, f.received_at, "
    "c.recommendation, c.evidence_level"
)


def schema(id_type: str) -> tuple[str, ...]:
    """DDL for both backends; ``id_type`` is the auto-increment primary key type."""
    return (
        f"""CREATE TABLE IF NOT EXISTS audit (
            id {id_type},
            request_id TEXT NOT NULL UNIQUE,
            recorded_at TEXT NOT NULL,
            channel TEXT NOT NULL,
            service TEXT NOT NULL,
            caller_iss TEXT,
            caller_client TEXT,
            pack_version TEXT NOT NULL,
            pack_hash TEXT NOT NULL,
            input_hash TEXT NOT NULL,
            status TEXT NOT NULL,
            output TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS audit_recorded_at ON audit (recorded_at)",
        """CREATE TABLE IF NOT EXISTS issued_card (
            uuid TEXT PRIMARY KEY,
            audit_id BIGINT NOT NULL REFERENCES audit (id),
            service TEXT NOT NULL,
            recommendation TEXT NOT NULL,
            evidence_level TEXT,
            indicator TEXT NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS feedback (
            id {id_type},
            service TEXT NOT NULL,
            card_uuid TEXT NOT NULL,
            outcome TEXT NOT NULL,
            accepted_suggestions TEXT NOT NULL,
            override_system TEXT,
            override_code TEXT,
            override_display TEXT,
            user_comment TEXT,
            outcome_timestamp TEXT NOT NULL,
            caller_iss TEXT,
            received_at TEXT NOT NULL,
            UNIQUE (service, card_uuid, outcome, outcome_timestamp))""",
    )


def assessment_in(output: dict[str, Any]) -> dict[str, Any]:
    """The assessment an audit output records: the output itself, or its ``assessment`` (CDS Hooks)."""
    nested = output.get("assessment")
    return nested if isinstance(nested, dict) else output


class Store(abc.ABC):
    """Audit trail and feedback store. Methods are blocking; call them from a worker thread."""

    kind: str = "store"

    # ---- backend primitives
    @abc.abstractmethod
    def _transaction(self, statements: Sequence[tuple[str, Sequence[Any]]], returning: bool = False) -> Any:
        """Run statements in one transaction and commit; return the first statement's first value
        when ``returning``. Raises StoreError."""

    @abc.abstractmethod
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a read-only query."""

    @abc.abstractmethod
    def integrity_errors(self) -> list[str]:
        """Problems found by the backend's own consistency check (empty when intact)."""

    @abc.abstractmethod
    def close(self) -> None: ...

    # ---- writes
    def write_audit(self, entry: AuditEntry) -> int:
        """Record one served assessment and the cards it produced; durable when this returns."""
        first = (
            "INSERT INTO audit (request_id, recorded_at, channel, service, caller_iss, caller_client, "
            "pack_version, pack_hash, input_hash, status, output) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
            (
                entry.request_id,
                to_text(entry.recorded_at),
                entry.channel,
                entry.service,
                entry.caller_iss,
                entry.caller_client,
                entry.pack_version,
                entry.pack_hash,
                entry.input_hash,
                entry.status,
                orjson.dumps(entry.output).decode(),
            ),
        )
        cards = [
            (
                "INSERT INTO issued_card "
                "(uuid, audit_id, service, recommendation, evidence_level, indicator) "
                "VALUES (?, (SELECT id FROM audit WHERE request_id = ?), ?, ?, ?, ?)",
                (c.uuid, entry.request_id, entry.service, c.recommendation, c.evidence_level, c.indicator),
            )
            for c in entry.cards
        ]
        return int(self._transaction([first, *cards], returning=True))

    def write_feedback(self, items: Sequence[FeedbackEntry]) -> None:
        """Record feedback items; an item already received (same card, outcome and time) is kept once."""
        statements = [
            (
                "INSERT INTO feedback (service, card_uuid, outcome, accepted_suggestions, override_system, "
                "override_code, override_display, user_comment, outcome_timestamp, caller_iss, received_at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT (service, card_uuid, outcome, outcome_timestamp) DO NOTHING",
                (
                    f.service,
                    f.card_uuid,
                    f.outcome,
                    orjson.dumps(list(f.accepted_suggestions)).decode(),
                    f.override_system,
                    f.override_code,
                    f.override_display,
                    f.user_comment,
                    to_text(f.outcome_timestamp),
                    f.caller_iss,
                    to_text(f.received_at),
                ),
            )
            for f in items
        ]
        if statements:
            self._transaction(statements)

    # ---- reads
    def ping(self) -> None:
        """A round trip to the backend (the health check); raises StoreError when it is unreachable."""
        self._query("SELECT 1")

    def count_audit(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM audit")[0][0])

    def list_audit(self, limit: int = 50, after_id: int = 0, service: str | None = None) -> list[StoredAudit]:
        sql = f"SELECT {AUDIT_COLUMNS} FROM audit WHERE id > ?"  # noqa: S608 (constant columns)
        params: list[Any] = [after_id]
        if service:
            sql += " AND service = ?"
            params.append(service)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        return [self._audit(row) for row in self._query(sql, params)]

    def recent_audit(self, limit: int = 20, service: str | None = None) -> list[StoredAudit]:
        """The last ``limit`` records, oldest first."""
        sql = f"SELECT {AUDIT_COLUMNS} FROM audit"  # noqa: S608 (constant columns)
        params: list[Any] = []
        if service:
            sql += " WHERE service = ?"
            params.append(service)
        rows = self._query(sql + " ORDER BY id DESC LIMIT ?", [*params, limit])
        return [self._audit(row) for row in reversed(rows)]

    def iter_audit(self, batch: int = 500, service: str | None = None) -> Iterator[StoredAudit]:
        after = 0
        while True:
            rows = self.list_audit(limit=batch, after_id=after, service=service)
            yield from rows
            if len(rows) < batch:
                return
            after = rows[-1].id

    def latest_for_patient(self, patient_id: str, batch: int = 50) -> StoredAudit | None:
        """The newest record whose output is an assessment of ``patient_id`` (its top-level ``patient_id``).

        The trail has no patient column: rows are narrowed, newest first, by a text match on the JSON as
        :meth:`write_audit` stores it (no parsing in SQL, so both backends run the same query), and each
        candidate is checked once parsed: the output is an assessment (REST, web) or holds one under
        ``assessment`` next to the cards (CDS Hooks). Mentions elsewhere, e.g. inside cards, never match."""
        needle = '"patient_id":' + orjson.dumps(patient_id).decode()
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        before: int | None = None
        while True:
            sql = (
                f"SELECT {AUDIT_COLUMNS} FROM audit "  # noqa: S608 (constant columns)
                "WHERE output LIKE ? ESCAPE '\\'"
            )
            params: list[Any] = [pattern]
            if before is not None:
                sql += " AND id < ?"
                params.append(before)
            rows = [self._audit(r) for r in self._query(sql + " ORDER BY id DESC LIMIT ?", [*params, batch])]
            for record in rows:
                if assessment_in(record.output).get("patient_id") == patient_id:
                    return record
            if len(rows) < batch:
                return None
            before = rows[-1].id

    def request_ids(self) -> set[str]:
        return {str(r[0]) for r in self._query("SELECT request_id FROM audit")}

    def list_feedback(self, service: str | None = None) -> list[StoredFeedback]:
        sql = (
            f"SELECT {FEEDBACK_COLUMNS} FROM feedback f "  # noqa: S608 (constant columns)
            "LEFT JOIN issued_card c ON c.uuid = f.card_uuid AND c.service = f.service"
        )
        params: list[Any] = []
        if service:
            sql += " WHERE f.service = ?"
            params.append(service)
        return [self._feedback(row) for row in self._query(sql + " ORDER BY f.id", params)]

    def feedback_summary(self, service: str | None = None) -> list[FeedbackTally]:
        """Distinct cards accepted / overridden, per recommendation and per evidence level."""
        where = "WHERE f.service = ?" if service else ""
        params: list[Any] = [service] if service else []
        out: list[FeedbackTally] = []
        groups: tuple[tuple[Literal["recommendation", "evidence-level"], str], ...] = (
            ("recommendation", "c.recommendation"),
            ("evidence-level", "c.evidence_level"),
        )
        for by, column in groups:
            sql = (
                f"SELECT COALESCE({column}, 'unknown'), "  # noqa: S608 (constant columns)
                "COUNT(DISTINCT CASE WHEN f.outcome = 'accepted' THEN f.card_uuid END), "
                "COUNT(DISTINCT CASE WHEN f.outcome = 'overridden' THEN f.card_uuid END) "
                "FROM feedback f LEFT JOIN issued_card c ON c.uuid = f.card_uuid AND c.service = f.service "
                f"{where} GROUP BY COALESCE({column}, 'unknown') ORDER BY 1"
            )
            out.extend(
                FeedbackTally(by=by, key=str(r[0]), accepted=int(r[1]), overridden=int(r[2]))
                for r in self._query(sql, params)
            )
        return out

    # ---- row mapping
    @staticmethod
    def _audit(row: Row) -> StoredAudit:
        return StoredAudit(
            id=int(row[0]),
            request_id=row[1],
            recorded_at=datetime.fromisoformat(row[2]),
            channel=row[3],
            service=row[4],
            caller_iss=row[5],
            caller_client=row[6],
            pack_version=row[7],
            pack_hash=row[8],
            input_hash=row[9],
            status=row[10],
            output=orjson.loads(row[11]),
        )

    @staticmethod
    def _feedback(row: Row) -> StoredFeedback:
        return StoredFeedback(
            id=int(row[0]),
            service=row[1],
            card_uuid=row[2],
            outcome=row[3],
            accepted_suggestions=tuple(orjson.loads(row[4])),
            override_system=row[5],
            override_code=row[6],
            override_display=row[7],
            user_comment=row[8],
            outcome_timestamp=datetime.fromisoformat(row[9]),
            caller_iss=row[10],
            received_at=datetime.fromisoformat(row[11]),
            recommendation=row[12],
            evidence_level=row[13],
        )


def store_error(action: str, exc: Exception) -> StoreError:
    """A StoreError that names the action and the driver's error class, never the data."""
    return StoreError(f"store: {action} failed ({type(exc).__name__})")
