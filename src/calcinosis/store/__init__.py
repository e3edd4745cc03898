"""Audit trail and feedback store: SQLite by default, PostgreSQL when configured."""

from calcinosis.store.base import Store
from calcinosis.store.db import open_store
from calcinosis.store.records import (
    AuditEntry,
    FeedbackEntry,
    FeedbackTally,
    IssuedCard,
    StoredAudit,
    StoredFeedback,
)

__all__ = [
    "AuditEntry",
    "FeedbackEntry",
    "FeedbackTally",
    "IssuedCard",
    "Store",
    "StoredAudit",
    "StoredFeedback",
    "open_store",
]
