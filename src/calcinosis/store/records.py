"""What the store keeps: assessments served (the audit trail), cards issued, and card feedback."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_text(moment: datetime) -> str:
    """One fixed ISO format in UTC, so that text order is time order in both SQLite and PostgreSQL."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IssuedCard(Record):
    """A card we returned, kept so that feedback can be tied to a recommendation and its evidence level."""

    uuid: str
    recommendation: str
    evidence_level: str | None = None
    indicator: Literal["info", "warning", "critical"]


class AuditEntry(Record):
    """One assessment served over REST or CDS Hooks."""

    request_id: str
    recorded_at: datetime = Field(default_factory=utc_now)
    channel: Literal["rest", "cds-hooks"]
    service: str
    caller_iss: str | None = None
    caller_client: str | None = None
    pack_version: str
    pack_hash: str
    input_hash: str
    status: Literal["complete", "degraded"] = "complete"
    output: dict[str, Any]
    cards: tuple[IssuedCard, ...] = ()


class StoredAudit(AuditEntry):
    id: int


class FeedbackEntry(Record):
    """One CDS Hooks feedback item as received."""

    service: str
    card_uuid: str
    outcome: Literal["accepted", "overridden"]
    accepted_suggestions: tuple[str, ...] = ()
    override_system: str | None = None
    override_code: str | None = None
    override_display: str | None = None
    user_comment: str | None = None
    outcome_timestamp: datetime
    caller_iss: str | None = None
    received_at: datetime = Field(default_factory=utc_now)


class StoredFeedback(FeedbackEntry):
    id: int
    recommendation: str | None = None
    evidence_level: str | None = None


class FeedbackTally(Record):
    """Acceptance and override counts (distinct cards) for one recommendation or evidence level."""

    by: Literal["recommendation", "evidence-level"]
    key: str
    accepted: int
    overridden: int

    @property
    def total(self) -> int:
        return self.accepted + self.overridden

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / self.total if self.total else 0.0

    @property
    def override_rate(self) -> float:
        return self.overridden / self.total if self.total else 0.0
