"""The pure, CPU-bound part of a service call: FHIR resources -> engine -> cards.

Every argument is plain data, so this runs in a worker thread or in an engine process alike. Reading and
assessing go through :mod:`calcinosis.casework`, as every input does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from calcinosis.casework import assess_resources
from calcinosis.cdshooks import orders
from calcinosis.cdshooks.cards import CardSettings, Issued, patient_view_cards, restamp
from calcinosis.cdshooks.discovery import service
from calcinosis.engine.results import Assessment
from calcinosis.fhir.context import LESION_CONCEPTS
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.loader import load_pack_cached
from calcinosis.patient.codes import load_vocabulary
from calcinosis.patient.models import Case


@dataclass(frozen=True)
class Outcome:
    cards: Issued
    input_hash: str
    complete: bool
    assessment: bytes | None = None  # JSON, recorded in the audit trail for the patient page


def fresh(outcome: Outcome) -> Outcome:
    """A cached outcome as a new answer: the same cards with new card and suggestion uuids."""
    return dataclasses.replace(outcome, cards=restamp(outcome.cards))


def recorded(a: Assessment, cs: CardSettings) -> bytes:
    """The assessment as the audit trail keeps it (JSON), under the patient id of the hook context."""
    kept = a.model_copy(update={"patient_id": cs.patient_id or a.patient_id})
    return kept.__pydantic_serializer__.to_json(kept)


def records_calcinosis(case: Case) -> bool:
    """The record holds calcinosis: a lesion, or a current calcinosis or calciphylaxis diagnosis."""
    if case.lesions:
        return True
    vocab = load_vocabulary()
    for cond in case.conditions:
        if cond.status not in ("active", "recurrence", "relapse"):
            continue
        found = {cond.concept} if cond.concept else vocab.concepts_in_text(cond.text, "condition")
        if vocab.implied(found) & LESION_CONCEPTS:
            return True
    return False


def compute(
    service_id: str,
    draft_orders: dict[str, Any] | None,
    resources: list[dict[str, Any]],
    cs: CardSettings,
    today: dt.date,
    pack: KnowledgePack | None = None,
) -> Outcome:
    pack = pack or load_pack_cached()
    if not service(service_id).orders:
        done = assess_resources(resources, pack, today=today)
        cards = patient_view_cards(done.assessment, cs, has_calcinosis=records_calcinosis(done.case))
        return Outcome(cards, done.input_hash, True, recorded(done.assessment, cs))
    drafts = orders.draft_resources(draft_orders or {})
    chart = orders.without_drafts(resources, drafts)
    base = assess_resources(chart, pack, today=today).assessment
    with_ = assess_resources([*chart, *drafts], pack, today=today)
    cards = orders.order_cards(base, with_.assessment, drafts, cs, pack)
    return Outcome(cards, with_.input_hash, True, recorded(base, cs))
