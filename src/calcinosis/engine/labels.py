"""Drug-label facts for this patient's contexts (pregnancy, breastfeeding, childhood, severe renal impairment)
on every therapy option and every current medication, under the trust rules of the label file: label text can
change a stance; a secondary report is shown as such and only ever asks for caution; nothing recorded is said.
"""

from __future__ import annotations

from dataclasses import dataclass

from calcinosis.engine.basis import cite_all, make_basis
from calcinosis.engine.facts import Fact, FactView
from calcinosis.engine.predicates import evaluate
from calcinosis.engine.results import Alert, Basis, LabelFactOut, MedicationSafety, Stance
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.labels import (
    NOT_A_DRUG,
    NOT_RECORDED,
    SECONDARY_NOTE,
    DrugLabel,
    LabelContext,
    LabelSeverity,
    LabelStatement,
    LabelTrust,
)

CONTEXT_WORDS = {
    LabelContext.PREGNANCY: "pregnancy",
    LabelContext.LACTATION: "breastfeeding",
    LabelContext.CHILD: "a child",
    LabelContext.SEVERE_RENAL_IMPAIRMENT: "severe renal impairment",
}
# How much a statement weighs (info 0 … contraindication 3): the reverse of the severity's one order.
SEVERITY_RANK = {s: len(LabelSeverity) - 1 - s.rank for s in LabelSeverity}


@dataclass(frozen=True)
class LabelReading:
    """The label facts of one option or medication, and the stance they ask for (None: no change)."""

    facts: tuple[LabelFactOut, ...]
    stance: Stance | None
    why: str | None
    statements: tuple[tuple[DrugLabel, LabelStatement], ...] = ()


def patient_contexts(view: FactView) -> list[LabelContext]:
    out: list[LabelContext] = []
    if view.pregnant:
        out.append(LabelContext.PREGNANCY)
    if view.breastfeeding:
        out.append(LabelContext.LACTATION)
    if view.age_years is not None and view.age_years < 18:
        out.append(LabelContext.CHILD)
    if evaluate("severe-renal-impairment", view).holds:
        out.append(LabelContext.SEVERE_RENAL_IMPAIRMENT)
    return out


def _egfr(view: FactView) -> float | None:
    lv = view.lab("egfr")
    return lv.value if lv is not None and lv.value == lv.value else None


def _fact(drug: DrugLabel, st: LabelStatement, pack: KnowledgePack, context: LabelContext) -> LabelFactOut:
    text = st.text
    if st.trust is LabelTrust.SECONDARY:
        text += f" ({SECONDARY_NOTE})"
    if st.condition:
        text += f" (applies only when: {st.condition})"
    return LabelFactOut(
        context=context,
        drug=drug.name,
        status="recorded",
        severity=st.severity,
        text=text,
        label=st.label_desc,
        verified=st.verified,
        sources=cite_all(pack, st.sources),
    )


def _drug_reading(
    drugs: tuple[DrugLabel, ...], view: FactView, pack: KnowledgePack, contexts: list[LabelContext]
) -> tuple[list[LabelFactOut], list[tuple[DrugLabel, LabelStatement]], dict[LabelContext, list[int]]]:
    """Facts per context; the applicable statements; per context, the worst severity rank of each drug."""
    facts: list[LabelFactOut] = []
    applied: list[tuple[DrugLabel, LabelStatement]] = []
    worst: dict[LabelContext, list[int]] = {}
    egfr = _egfr(view)
    for context in contexts:
        for drug in drugs:
            statements = drug.applicable(
                context, age_years=view.age_years, egfr=egfr, holds=lambda p: evaluate(p, view).holds
            )
            if not statements:
                facts.append(
                    LabelFactOut(context=context, drug=drug.name, status="not-recorded", text=NOT_RECORDED)
                )
                worst.setdefault(context, []).append(-1)
                continue
            facts.extend(_fact(drug, st, pack, context) for st in statements)
            applied.extend((drug, st) for st in statements)
            worst.setdefault(context, []).append(max(_effective(st) for st in statements))
    return facts, applied, worst


def _effective(st: LabelStatement) -> int:
    """How much a statement may weigh on a stance: conditional statements never; secondary reports at most
    as a caution; label text as stated."""
    if st.conditional:
        return 0
    rank = SEVERITY_RANK[st.severity]
    if st.trust is LabelTrust.SECONDARY or not st.verified:
        return min(rank, SEVERITY_RANK[LabelSeverity.CAUTION])
    return rank


def therapy_labels(therapy_id: str, view: FactView, pack: KnowledgePack) -> LabelReading:
    contexts = patient_contexts(view)
    if not contexts:
        return LabelReading((), None, None)
    book = pack.labels
    if not book.is_drug(therapy_id):
        plain = tuple(LabelFactOut(context=c, status="not-a-drug", text=NOT_A_DRUG) for c in contexts)
        return LabelReading(plain, None, None)
    drugs = book.for_therapy(therapy_id)
    if not drugs:
        unknown = tuple(LabelFactOut(context=c, status="not-recorded", text=NOT_RECORDED) for c in contexts)
        return LabelReading(unknown, None, None)
    facts, applied, worst = _drug_reading(drugs, view, pack, contexts)
    # A class of agents is as usable as its least restricted agent; an unknown agent does not lower it.
    level = max((min(ranks) for ranks in worst.values()), default=-1)
    stance, why = None, None
    if level >= SEVERITY_RANK[LabelSeverity.AVOID]:
        stance = Stance.AVOID
    elif level == SEVERITY_RANK[LabelSeverity.CAUTION]:
        stance = Stance.USE_WITH_CAUTION
    if stance is not None:
        ctx = [c for c, ranks in worst.items() if min(ranks) == level]
        why = (
            f"Label facts for {', '.join(CONTEXT_WORDS[c] for c in ctx)}: "
            + "; ".join(
                f"{d.name}: {st.text} ({st.label_desc})"
                for d, st in applied
                if st.context in ctx and _effective(st) == level
            )
            + "."
        )
    return LabelReading(tuple(facts), stance, why, tuple(applied))


def medication_labels(
    view: FactView, pack: KnowledgePack
) -> tuple[tuple[MedicationSafety, ...], tuple[Alert, ...]]:
    """Label facts for each current medication in this patient's contexts, and alerts for the ones the
    label contraindicates or advises against."""
    contexts = patient_contexts(view)
    if not contexts:
        return (), ()
    seen: dict[str, Fact] = {f.id: f for facts in view.medications.values() for f in facts}
    out: list[MedicationSafety] = []
    alerts: list[Alert] = []
    for fact in seen.values():
        drugs = pack.labels.match_medication(fact.text)
        if not drugs:
            facts = tuple(LabelFactOut(context=c, status="not-recorded", text=NOT_RECORDED) for c in contexts)
            out.append(MedicationSafety(medication=fact.text, fact_id=fact.id, facts=facts))
            continue
        label_facts, applied, _ = _drug_reading(drugs, view, pack, contexts)
        out.append(MedicationSafety(medication=fact.text, fact_id=fact.id, facts=tuple(label_facts)))
        for drug, st in applied:
            if st.conditional or SEVERITY_RANK[st.severity] < SEVERITY_RANK[LabelSeverity.AVOID]:
                continue
            label_text = st.trust is LabelTrust.LABEL and st.verified
            contraindicated = label_text and st.severity is LabelSeverity.CONTRAINDICATION
            note = "" if label_text else f" ({SECONDARY_NOTE})"
            alerts.append(
                Alert(
                    id=f"label-{drug.id}-{st.context.value}",
                    severity="critical" if contraindicated else "warning",
                    text=(
                        f"Current medication {fact.text} in {CONTEXT_WORDS[st.context]}: {st.text}{note} "
                        f"({st.label_desc}). Review with the prescriber."
                    ),
                    basis=_basis(pack, fact, st, view),
                )
            )
    unique: dict[str, Alert] = {}
    for alert in alerts:
        unique.setdefault(alert.id, alert)  # statements come best-trusted first
    return tuple(out), tuple(unique.values())


def _basis(pack: KnowledgePack, fact: Fact, st: LabelStatement, view: FactView) -> Basis:
    context_facts = [f for name in _CONTEXT_PREDICATE[st.context] for f in evaluate(name, view).facts]
    return make_basis(
        pack, rules=[f"label:{st.context.value}"], facts=[fact, *context_facts], sources=st.sources
    )


_CONTEXT_PREDICATE = {
    LabelContext.PREGNANCY: ("pregnant",),
    LabelContext.LACTATION: ("breastfeeding",),
    LabelContext.CHILD: ("child",),
    LabelContext.SEVERE_RENAL_IMPAIRMENT: ("severe-renal-impairment",),
}
