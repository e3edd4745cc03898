"""The pure, CPU-bound part of a service call: FHIR resources -> engine -> cards.

Every argument is plain data, so this runs in a worker thread or in an engine process alike.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from calcinosis.cdshooks import orders
from calcinosis.cdshooks.cards import CardSettings, Issued, patient_view_cards
from calcinosis.cdshooks.discovery import service
from calcinosis.engine import assess
from calcinosis.engine.results import Assessment
from calcinosis.errors import InputError
from calcinosis.fhir.context import LESION_CONCEPTS
from calcinosis.inputs import read_patient
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.loader import load_pack_cached
from calcinosis.patient.codes import load_vocabulary
from calcinosis.patient.models import Case, InputIssue


@dataclass(frozen=True)
class Outcome:
    cards: Issued
    input_hash: str
    complete: bool
    assessment: dict[str, Any] | None = None  # JSON form, recorded in the audit trail for the patient page


def recorded(a: Assessment, cs: CardSettings) -> dict[str, Any]:
    """The assessment as the audit trail keeps it, under the patient id of the hook context."""
    return a.model_copy(update={"patient_id": cs.patient_id or a.patient_id}).model_dump(mode="json")


def as_bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    unique: dict[tuple[Any, Any], dict[str, Any]] = {}
    for i, r in enumerate(resources):
        key = (r.get("resourceType"), r.get("id")) if isinstance(r.get("id"), str) else ("#", i)
        unique[key] = r
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in unique.values()],
    }


def read_bundle(resources: list[dict[str, Any]], today: dt.date) -> tuple[Case, list[InputIssue]]:
    try:
        return read_patient(as_bundle(resources), as_of=today)
    except InputError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise InputError(f"patient data could not be read ({type(exc).__name__})") from exc


def digest(*parts: Any) -> str:
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()


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


def assess_resources(
    data: list[dict[str, Any]], today: dt.date, pack: KnowledgePack
) -> tuple[Assessment, str, Case]:
    case, issues = read_bundle(data, today)
    return assess(case, pack, issues=issues, as_of=today), digest(case.model_dump(mode="json")), case


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
        a, h, case = assess_resources(resources, today, pack)
        cards = patient_view_cards(a, cs, has_calcinosis=records_calcinosis(case))
        return Outcome(cards, h, True, recorded(a, cs))
    drafts = orders.draft_resources(draft_orders or {})
    chart = orders.without_drafts(resources, drafts)
    base, _, _ = assess_resources(chart, today, pack)
    with_, h, _ = assess_resources([*chart, *drafts], today, pack)
    return Outcome(orders.order_cards(base, with_, drafts, cs, pack), h, True, recorded(base, cs))
