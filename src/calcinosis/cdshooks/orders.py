"""Draft orders against the assessment (``order-select``, ``order-sign``).

No rule here is clinical: the patient is assessed twice by the engine, without and with the draft
medications, and a conflict is whatever the pack makes of the draft: an alert that the draft brings
on or that names the drafted therapy, a caution of the drafted therapy that holds for this patient
(severity contraindication or warning), or a stance of "avoid" for it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from calcinosis.cdshooks import detail as md
from calcinosis.cdshooks.cards import (
    EXT_BASIS,
    EXT_GRADE,
    EXT_KNOWLEDGE,
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
from calcinosis.engine.results import Alert, Assessment, Stance, TherapyOption
from calcinosis.pack.models import SubtypeCode

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
    option: TherapyOption
    alerts: list[Alert] = field(default_factory=list)


def _drafted(base: Assessment, with_: Assessment) -> list[TherapyOption]:
    before = {o.id for o in base.therapies if o.already_receiving}
    return [o for o in with_.therapies if o.already_receiving and o.id not in before]


def _order_for(option: TherapyOption, drafts: list[dict[str, Any]]) -> dict[str, Any] | None:
    facts = set(option.basis.facts)
    for d in drafts:
        rid = str(d.get("id") or "")
        if rid and ({rid, f"{d.get('resourceType')}/{rid}"} & facts or any(f.endswith(rid) for f in facts)):
            return d
    return drafts[0] if len(drafts) == 1 else None


def _indicator(c: Conflict, with_: Assessment) -> Indicator:
    if any(a.severity == "critical" for a in c.alerts):
        return "critical"
    if any(x.patient_specific and x.severity == "contraindication" for x in c.option.cautions):
        return "critical"
    if c.option.stance is Stance.AVOID and with_.subtype.code is SubtypeCode.CALCIPHYLAXIS:
        return "critical"
    return "warning"


def _conflict_card(c: Conflict, with_: Assessment, cs: CardSettings, order: dict[str, Any] | None) -> Card:
    o = c.option
    cautions = [x for x in o.cautions if x.patient_specific and x.severity in ("contraindication", "warning")]
    first = (
        c.alerts[0].text if c.alerts else (cautions[0].text if cautions else "sources advise against it here")
    )
    summary = md.fit_summary(f"Draft order {o.name}: {md.first_sentence(first)}")
    body = md.join(
        [
            f"The draft order for **{md.esc(o.name)}** conflicts with this patient's calcinosis assessment "
            f"(stance for this patient: {o.stance.value})."
        ],
        ["**Alerts**", *[f"- ({a.severity}) {md.esc(a.text)}" for a in c.alerts]] if c.alerts else [],
        ["**Cautions that hold for this patient**", *[f"- ({x.severity}) {md.esc(x.text)}" for x in cautions]]
        if cautions
        else [],
        ["**Why**", *[f"- {md.esc(r)}" for r in o.rationale]],
        [md.grade_text(o)],
        md.fact_lines([*o.basis.facts, *(f for a in c.alerts for f in a.basis.facts)], with_),
        md.missing_lines(with_, cs.unavailable),
        md.citations(
            [
                *(s for a in c.alerts for s in a.basis.sources),
                *(s for x in cautions for s in x.sources),
                *o.basis.sources,
            ]
        ),
        md.knowledge_footer(with_.knowledge),
        [f"_{md.esc(with_.disclaimer)}_"],
    )
    suggestions = None
    if order is not None and order.get("id"):
        ref = f"{order['resourceType']}/{order['id']}"
        suggestions = [
            Suggestion(
                label=f"Remove the draft order for {o.name}",
                uuid=str(uuid.uuid4()),
                actions=[Action(type="delete", description=f"Remove draft {ref}", resourceId=ref)],
            )
        ]
    basis = {
        "rules": [*o.basis.rules, *(r for a in c.alerts for r in a.basis.rules)],
        "draftOrder": order.get("id") if order else None,
    }
    return Card(
        uuid=str(uuid.uuid4()),
        summary=summary,
        detail=body,
        indicator=_indicator(c, with_),
        source=source(with_.knowledge, cs, "order-conflict", "Draft order conflict"),
        suggestions=suggestions,
        selectionBehavior="at-most-one" if suggestions else None,
        overrideReasons=override_reasons(),
        links=links(cs),
        extension=prune(
            {EXT_KNOWLEDGE: knowledge_ext(with_.knowledge), EXT_GRADE: grade_ext(o), EXT_BASIS: basis}
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
        indicator=alert.severity,
        source=source(with_.knowledge, cs, "order-conflict", "Draft order conflict"),
        overrideReasons=override_reasons(),
        links=links(cs),
        extension=prune(
            {EXT_KNOWLEDGE: knowledge_ext(with_.knowledge), EXT_BASIS: {"rules": list(alert.basis.rules)}}
        ),
    )


def order_cards(
    base: Assessment, with_: Assessment, drafts: list[dict[str, Any]], cs: CardSettings
) -> Issued:
    out = Issued()
    before = {a.id for a in base.alerts}
    new_alerts = [a for a in with_.alerts if a.id not in before and a.severity != "info"]
    drafted = _drafted(base, with_)
    drafted_ids = {o.id for o in drafted}
    conflicts = {o.id: Conflict(o) for o in drafted}
    untied: list[Alert] = []
    for alert in with_.alerts:
        tied = [t for t in alert.therapies if t in drafted_ids]
        for t in tied:
            if alert.severity != "info":
                conflicts[t].alerts.append(alert)
        if not tied and alert in new_alerts:
            untied.append(alert)
    for c in conflicts.values():
        o = c.option
        risky = any(x.patient_specific and x.severity in ("contraindication", "warning") for x in o.cautions)
        if c.alerts or risky or o.stance is Stance.AVOID:
            card = _conflict_card(c, with_, cs, _order_for(o, drafts))
            out.add(card, f"order-conflict:{o.id}", o.evidence_level.value if o.evidence_level else None)
    for alert in untied:
        out.add(_alert_card(alert, with_, cs), f"order-alert:{alert.id}", None)
    return out
