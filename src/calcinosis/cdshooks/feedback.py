"""CDS Hooks feedback: received items -> store entries; the summary per recommendation and evidence level."""

from __future__ import annotations

from typing import Any

from calcinosis.cdshooks.models import FeedbackRequest
from calcinosis.store.records import FeedbackEntry, FeedbackTally


def to_entries(service_id: str, body: FeedbackRequest, caller_iss: str | None) -> list[FeedbackEntry]:
    out = []
    for item in body.feedback:
        reason = item.overrideReason.reason if item.overrideReason else None
        out.append(
            FeedbackEntry(
                service=service_id,
                card_uuid=item.card,
                outcome=item.outcome,
                accepted_suggestions=tuple(s.id for s in item.acceptedSuggestions or ()),
                override_system=reason.system if reason else None,
                override_code=reason.code if reason else None,
                override_display=reason.display if reason else None,
                user_comment=item.overrideReason.userComment if item.overrideReason else None,
                outcome_timestamp=item.outcomeTimestamp,
                caller_iss=caller_iss,
            )
        )
    return out


def summary_json(tallies: list[FeedbackTally]) -> dict[str, Any]:
    """``{"byRecommendation": [...], "byEvidenceLevel": [...]}`` with counts and rates (distinct cards)."""

    def row(t: FeedbackTally) -> dict[str, Any]:
        return {
            "key": t.key,
            "accepted": t.accepted,
            "overridden": t.overridden,
            "total": t.total,
            "acceptanceRate": round(t.acceptance_rate, 4),
            "overrideRate": round(t.override_rate, 4),
        }

    return {
        "byRecommendation": [row(t) for t in tallies if t.by == "recommendation"],
        "byEvidenceLevel": [row(t) for t in tallies if t.by == "evidence-level"],
    }
