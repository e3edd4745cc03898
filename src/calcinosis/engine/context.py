"""Who the patient is (age group, pregnancy, breastfeeding, kidney function) and, without recorded calcinosis,
what they are at risk of."""

from __future__ import annotations

from calcinosis.engine.basis import make_basis
from calcinosis.engine.facts import FactView
from calcinosis.engine.predicates import evaluate
from calcinosis.engine.results import PatientContext, RiskItem
from calcinosis.pack.knowledge import KnowledgePack


def patient_context(view: FactView) -> PatientContext:
    age = view.age_years
    if age is None:
        group = "unknown"
    elif evaluate("neonate", view).holds:
        group = "neonate"
    elif age < 1:
        group = "infant"
    elif age < 18:
        group = "child"
    else:
        group = "adult"
    return PatientContext(
        age_years=round(age, 3) if age is not None else None,
        age_group=group,
        sex=view.sex,
        pregnant=view.pregnant,
        breastfeeding=view.breastfeeding,
        severe_renal_impairment=evaluate("severe-renal-impairment", view).holds,
    )


def risk_profile(view: FactView, pack: KnowledgePack) -> tuple[RiskItem, ...]:
    """The pack's risk contexts that hold for this patient."""
    out: list[RiskItem] = []
    for risk in pack.risk_contexts:
        hits = [(p, evaluate(p, view)) for p in risk.any_of]
        held = [(p, f) for p, f in hits if f.holds]
        if not held:
            continue
        out.append(
            RiskItem(
                id=risk.id,
                subtypes=risk.subtypes,
                watch_for=risk.watch_for,
                basis=make_basis(
                    pack,
                    rules=[f"risk:{risk.id}", *(p for p, _ in held)],
                    facts=[x for _, f in held for x in f.facts],
                    sources=risk.sources,
                ),
            )
        )
    return tuple(out)
