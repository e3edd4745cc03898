"""Draft orders against the assessment (``order-select``, ``order-sign``).

No rule here is clinical: the patient is assessed twice by the engine, without and with the draft
medications, and a conflict is whatever the pack makes of the draft: an alert that the draft brings
on or that names the drafted therapy, a caution of the drafted therapy that holds for this patient
(severity contraindication or warning), or a stance of "avoid" for it. A draft is the pack therapy the
engine now finds the patient receiving, or the therapy whose id is a medication concept the draft names.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from calcinosis.cdshooks import detail as md
from calcinosis.cdshooks.cards import (
    CARD_ALERTS,
    EXT_BASIS,
    EXT_GRADE,
    EXT_KNOWLEDGE,
    INDICATOR,
    CardSettings,
    Indicator,
    Issued,
    grade_ext,
    knowledge_ext,
    links,
    override_reasons,
    source,
)
from calcinosis.cdshooks.models import Action, Card, Suggestion, prune
from calcinosis.engine.results import Alert, Assessment, CautionOut, Stance, TherapyOption
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.models import AlertSeverity, CautionSeverity, SubtypeCode
from calcinosis.patient.codes import load_vocabulary

ORDER_TYPES = frozenset({"MedicationRequest", "MedicationOrder", "MedicationStatement"})


def draft_resources(draft_orders: dict[str, Any]) -> list[dict[str, Any]]:
    """Medication orders in the ``draftOrders`` Bundle (other order types are not assessed)."""
    entries = draft_orders.get("entry") if draft_orders.get("resourceType") == "Bundle" else None
    out: list[dict[str, Any]] = []
    for e in entries if isinstance(entries, list) else []:
        res = e.get("resource") if isinstance(e, dict) else None
        if isinstance(res, dict) and res.get("resourceType") in ORDER_TYPES:
            out.append(res)
    return out


def without_drafts(resources: list[dict[str, Any]], drafts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The chart as it stands: prefetched medication requests that are the drafts themselves are dropped."""
    ids = {(d.get("resourceType"), d.get("id")) for d in drafts if d.get("id")}
    return [
        r
        for r in resources
        if not (
            r.get("resourceType") in ORDER_TYPES
            and ((r.get("resourceType"), r.get("id")) in ids or r.get("status") == "draft")
        )
    ]


@dataclass
class Conflict:
    """A drafted therapy with what the assessment says against it for this patient."""

    therapy: str
    name: str
    option: TherapyOption | None
    order: dict[str, Any] | None
    alerts: list[Alert] = field(default_factory=list)

    @property
    def cautions(self) -> list[CautionOut]:
        if self.option is None:
            return []
        return [
            x
            for x in self.option.cautions
            if x.patient_specific
            and x.severity in (CautionSeverity.CONTRAINDICATION, CautionSeverity.WARNING)
        ]

    @property
    def conflicting(self) -> bool:
        avoid = self.option is not None and self.option.stance is Stance.AVOID
        return bool(self.alerts or self.cautions or avoid)


def draft_concepts(resource: dict[str, Any]) -> set[str]:
    """The medication concepts a draft names (codings first, then its text), as the FHIR reader reads them."""
    vocab = load_vocabulary()
    concept = resource.get("medicationCodeableConcept")
    found: set[str] = set()
    if isinstance(concept, dict):
        codings = concept.get("coding")
        for coding in codings if isinstance(codings, list) else []:
            if isinstance(coding, dict):
                found |= vocab.concepts_for_coding(coding.get("system"), coding.get("code"))
                if not found and isinstance(coding.get("display"), str):
                    found |= vocab.concepts_in_text(coding["display"], "medication")
        if not found and isinstance(concept.get("text"), str):
            found |= vocab.concepts_in_text(concept["text"], "medication")
    return vocab.implied(found) if found else found


def drafted(
    base: Assessment, with_: Assessment, drafts: list[dict[str, Any]], pack: KnowledgePack
) -> dict[str, Conflict]:
    """Therapies the drafts amount to: those the engine now finds the patient receiving, and those whose
    pack id is a medication concept a draft names."""
    before = {o.id for o in base.therapies if o.already_receiving}
    options = {o.id: o for o in with_.therapies}
    out: dict[str, Conflict] = {}
    for o in with_.therapies:
        if o.already_receiving and o.id not in before:
            out[o.id] = Conflict(o.id, o.name, o, _order_for(o, drafts))
    for d in drafts:
        for concept in sorted(draft_concepts(d)):
            if concept in pack.therapies and concept not in out and concept not in before:
                out[concept] = Conflict(concept, pack.therapies[concept].name, options.get(concept), d)
    return out


def _order_for(option: TherapyOption, drafts: list[dict[str, Any]]) -> dict[str, Any] | None:
    facts = set(option.basis.facts)
    for d in drafts:
        rid = str(d.get("id") or "")
        if rid and f"{d.get('resourceType')}/{rid}" in facts:
            return d
    return drafts[0] if len(drafts) == 1 else None


def _indicator(c: Conflict, with_: Assessment) -> Indicator:
    if any(a.severity is AlertSeverity.CRITICAL for a in c.alerts):
        return "critical"
    if any(x.severity is CautionSeverity.CONTRAINDICATION for x in c.cautions):
        return "critical"
    if (
        c.option is not None
        and c.option.stance is Stance.AVOID
        and with_.subtype.code is SubtypeCode.CALCIPHYLAXIS
    ):
        return "critical"
    return "warning"


def _conflict_card(c: Conflict, with_: Assessment, cs: CardSettings) -> Card:
    o, cautions = c.option, c.cautions
    first = (
        c.alerts[0].text if c.alerts else (cautions[0].text if cautions else "sources advise against it here")
    )
    stance = f" (stance for this patient: {o.stance.value})" if o else ""
    body = md.join(
        [
            f"The draft order for **{md.esc(c.name)}** conflicts with this patient's calcinosis assessment{stance}."
        ],
        ["**Alerts**", *[f"- ({a.severity}) {md.esc(a.text)}" for a in c.alerts]] if c.alerts else [],
        ["**Cautions that hold for this patient**", *[f"- ({x.severity}) {md.esc(x.text)}" for x in cautions]]
        if cautions
        else [],
        ["**Why**", *[f"- {md.esc(r)}" for r in o.rationale]] if o else [],
        [md.grade_text(o)] if o else [],
        md.fact_lines([*(o.basis.facts if o else ()), *(f for a in c.alerts for f in a.basis.facts)], with_),
        md.missing_lines(with_, cs.unavailable),
        md.citations(
            [
                *(s for a in c.alerts for s in a.basis.sources),
                *(s for x in cautions for s in x.sources),
                *(o.basis.sources if o else ()),
            ]
        ),
        md.knowledge_footer(with_.knowledge),
        [f"_{md.esc(with_.disclaimer)}_"],
    )
    suggestions = None
    if c.order is not None and c.order.get("id"):
        ref = f"{c.order['resourceType']}/{c.order['id']}"
        suggestions = [
            Suggestion(
                label=f"Remove the draft order for {c.name}",
                uuid=str(uuid.uuid4()),
                actions=[Action(type="delete", description=f"Remove draft {ref}", resourceId=ref)],
            )
        ]
    rules = [*(o.basis.rules if o else ()), *(r for a in c.alerts for r in a.basis.rules)]
    basis = {"therapy": c.therapy, "rules": rules, "draftOrder": c.order.get("id") if c.order else None}
    return Card(
        uuid=str(uuid.uuid4()),
        summary=md.fit_summary(f"Draft order {c.name}: {md.first_sentence(first)}"),
        detail=body,
        indicator=_indicator(c, with_),
        source=source(with_.knowledge, cs, "order-conflict", "Draft order conflict"),
        suggestions=suggestions,
        selectionBehavior="at-most-one" if suggestions else None,
        overrideReasons=override_reasons(),
        links=links(cs),
        extension=prune(
            {
                EXT_KNOWLEDGE: knowledge_ext(with_.knowledge),
                EXT_GRADE: grade_ext(o) if o else None,
                EXT_BASIS: basis,
            }
        ),
    )


def _alert_card(alert: Alert, with_: Assessment, cs: CardSettings) -> Card:
    body = md.join(
        [md.esc(alert.text)],
        md.fact_lines(alert.basis.facts, with_),
        md.citations(alert.basis.sources),
        md.knowledge_footer(with_.knowledge),
        [f"_{md.esc(with_.disclaimer)}_"],
    )
    return Card(
        uuid=str(uuid.uuid4()),
        summary=md.fit_summary(f"Draft order: {md.first_sentence(alert.text)}"),
        detail=body,
        indicator=INDICATOR[alert.severity],
        source=source(with_.knowledge, cs, "order-conflict", "Draft order conflict"),
        overrideReasons=override_reasons(),
        links=links(cs),
        extension=prune(
            {EXT_KNOWLEDGE: knowledge_ext(with_.knowledge), EXT_BASIS: {"rules": list(alert.basis.rules)}}
        ),
    )


def order_cards(
    base: Assessment, with_: Assessment, drafts: list[dict[str, Any]], cs: CardSettings, pack: KnowledgePack
) -> Issued:
    out = Issued()
    before = {a.id for a in base.alerts}
    conflicts = drafted(base, with_, drafts, pack)
    untied: list[Alert] = []
    for alert in with_.alerts:
        tied = [t for t in alert.therapies if t in conflicts]
        for t in tied:
            if alert.severity in CARD_ALERTS:
                conflicts[t].alerts.append(alert)
        if not tied and alert.id not in before and alert.severity in CARD_ALERTS:
            untied.append(alert)
    for c in conflicts.values():
        if c.conflicting:
            level = c.option.evidence_level.value if c.option and c.option.evidence_level else None
            out.add(_conflict_card(c, with_, cs), f"order-conflict:{c.therapy}", level)
    for alert in untied:
        out.add(_alert_card(alert, with_, cs), f"order-alert:{alert.id}", None)
    return out
