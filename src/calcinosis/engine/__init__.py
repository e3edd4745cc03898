"""The assessment engine: patient facts in, an Assessment with its full trail out.

Imports only ``pack`` and ``patient``; no web, database, file or FHIR code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from calcinosis.engine.alerts import fire_alerts
from calcinosis.engine.classify import classify
from calcinosis.engine.context import patient_context, risk_profile
from calcinosis.engine.facts import build_view
from calcinosis.engine.history import course_responses
from calcinosis.engine.labels import medication_labels
from calcinosis.engine.rank import rank_therapies
from calcinosis.engine.results import (
    Assessment,
    FactUsed,
    History,
    IssueOut,
    KnowledgeInfo,
    Stance,
    SubtypeCall,
    TherapyOption,
    WorkupEntry,
    WorkupStatus,
)
from calcinosis.engine.workup import plan_workup
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.loader import load_pack_cached
from calcinosis.patient.models import Case, InputIssue

__all__ = [
    "Assessment",
    "Stance",
    "SubtypeCall",
    "TherapyOption",
    "WorkupEntry",
    "WorkupStatus",
    "assess",
    "knowledge_info",
]


def knowledge_info(pack: KnowledgePack) -> KnowledgeInfo:
    return KnowledgeInfo(
        pack=pack.meta.id,
        version=pack.meta.version,
        content_hash=pack.content_hash,
        last_reviewed=pack.meta.last_reviewed,
        grading_system=pack.meta.grading_system,
    )


def assess(
    case: Case,
    pack: KnowledgePack | None = None,
    *,
    issues: Sequence[InputIssue] = (),
    as_of: dt.date | None = None,
) -> Assessment:
    """Classify, list the work-up still missing and rank therapy options for one patient. Pure."""
    pack = pack or load_pack_cached()
    view = build_view(case, pack, as_of)
    diff = classify(view, pack)
    call = diff.call
    recorded = diff.calcinosis.recorded
    present = [c.key for c in diff.candidates]
    workup = plan_workup(view, call, pack, calcinosis=recorded, present=present)
    alerts, lowered = fire_alerts(view, pack)
    medication_safety, label_alerts = medication_labels(view, pack)
    alerts = tuple(sorted((*alerts, *label_alerts), key=lambda al: al.severity.rank))
    courses = course_responses(case, pack, as_of=view.as_of) if case.courses else ()
    therapies = rank_therapies(view, call, pack, lowered, courses) if recorded else ()
    used_ids: set[str] = set(diff.calcinosis.facts)
    for reason in (*call.reasons, *(r for a in call.alternatives for r in a.reasons)):
        used_ids.update(reason.basis.facts)
    risks = () if recorded else risk_profile(view, pack)
    for basis in (
        *(w.basis for w in workup),
        *(t.basis for t in therapies),
        *(al.basis for al in alerts),
        *(c.basis for c in diff.candidates),
        *(r.basis for r in risks),
    ):
        used_ids.update(basis.facts)
    facts_used = tuple(
        FactUsed(
            id=f.id,
            kind=f.kind,
            text=f.text,
            value=f.value,
            date=f.date.isoformat() if f.date else None,
        )
        for f in view.facts.values()
        if f.id in used_ids
    )
    linked = {rule for t in therapies for rule in t.basis.rules if rule.startswith("allergy:")}
    unlinked = [
        InputIssue(
            location=a.where,
            message=f"allergy or intolerance recorded ({a.fact.text}); no option listed names it: check any "
            "treatment against it",
            severity="information",
        )
        for a in view.allergies
        if f"allergy:{a.fact.id}" not in linked
    ]
    all_issues = [*issues, *view.issues, *unlinked]
    return Assessment(
        patient_id=case.id,
        subtype=call,
        workup=workup,
        therapies=therapies,
        alerts=alerts,
        knowledge=knowledge_info(pack),
        facts_used=facts_used,
        input_issues=tuple(
            IssueOut(location=i.location, message=i.message, severity=i.severity) for i in all_issues
        ),
        disclaimer=pack.meta.disclaimer,
        calcinosis=diff.calcinosis,
        differential=diff.candidates,
        next_test=diff.next_test,
        risk_profile=risks,
        patient_context=patient_context(view),
        medication_safety=medication_safety,
        history=History(courses=courses) if case.courses else None,
    )
