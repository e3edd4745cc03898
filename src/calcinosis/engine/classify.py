"""Subtype call from the pack's ordered rules (dossier §1.4): first match wins, every match is reported."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from calcinosis.engine.basis import make_basis
from calcinosis.engine.facts import Fact, FactView
from calcinosis.engine.predicates import evaluate
from calcinosis.engine.results import Reason, SubtypeAlternative, SubtypeCall
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.models import SubtypeCode, SubtypeRule

Confidence = Literal["high", "medium", "low"]
LOWER: dict[Confidence, Confidence] = {"high": "medium", "medium": "low", "low": "low"}
NEEDS_NORMAL_LABS = frozenset({"mineral-derangement"})


@dataclass(frozen=True)
class Match:
    rule: SubtypeRule
    confidence: Confidence
    reason: Reason
    facts: tuple[Fact, ...]


def match_rule(rule: SubtypeRule, view: FactView, pack: KnowledgePack) -> Match | None:
    facts: list[Fact] = []
    held: list[str] = []
    for name in rule.all_of:
        f = evaluate(name, view)
        if not f.holds:
            return None
        facts.extend(f.facts)
        held.append(name)
    if rule.any_of:
        hits = [(n, evaluate(n, view)) for n in rule.any_of]
        good = [(n, f) for n, f in hits if f.holds]
        if not good:
            return None
        for n, f in good:
            facts.extend(f.facts)
            held.append(n)
    absent: list[str] = []
    for name in rule.none_of:
        f = evaluate(name, view)
        if f.holds:
            return None
        facts.extend(f.facts)
        absent.append(name)
    confidence: Confidence = rule.confidence
    caveats: list[str] = []
    if NEEDS_NORMAL_LABS & set(rule.none_of) and evaluate("mineral-labs-missing", view).holds:
        confidence = LOWER[confidence]
        caveats.append("calcium/phosphate not measured, so a mineral disorder is not excluded")
    text = rule.title
    if held:
        text += f" — found: {', '.join(held)}"
    if absent:
        text += f"; absent: {', '.join(absent)}"
    if caveats:
        text += f" ({'; '.join(caveats)})"
    if rule.caveat:
        text += f". Caveat: {rule.caveat}"
    reason = Reason(text=text, basis=make_basis(pack, rules=[rule.id], facts=facts, sources=rule.sources))
    return Match(rule, confidence, reason, tuple(facts))


def classify(view: FactView, pack: KnowledgePack) -> tuple[SubtypeCall, list[Match]]:
    matches = [m for rule in pack.rules if (m := match_rule(rule, view, pack)) is not None]
    if not matches:
        return _undetermined(view, pack), []
    primary = matches[0]
    code = primary.rule.subtype
    variant = primary.rule.variant
    reasons = [primary.reason]
    used = {primary.rule.id}
    for m in matches[1:]:
        if m.rule.subtype == code and m.rule.variant is not None and variant is None:
            variant = m.rule.variant
            reasons.append(m.reason)
            used.add(m.rule.id)
    alternatives: dict[tuple[SubtypeCode, str | None], SubtypeAlternative] = {}
    for m in matches:
        key = (m.rule.subtype, m.rule.variant)
        if m.rule.id in used or key in alternatives or key == (code, variant):
            continue
        alternatives[key] = SubtypeAlternative(
            code=m.rule.subtype, variant=m.rule.variant, confidence=m.confidence, reasons=(m.reason,)
        )
    name = pack.subtypes[variant].name if variant else _core_name(pack, code)
    call = SubtypeCall(
        code=code,
        variant=variant,
        name=name,
        confidence=primary.confidence,
        reasons=tuple(reasons),
        alternatives=tuple(alternatives.values()),
    )
    return call, matches


def _core_name(pack: KnowledgePack, code: SubtypeCode) -> str:
    sub = pack.subtypes.get(code.value)
    return sub.name if sub else code.value.capitalize()


def _undetermined(view: FactView, pack: KnowledgePack) -> SubtypeCall:
    missing = evaluate("mineral-labs-missing", view).holds
    text = "No classification rule matched the facts given"
    if missing:
        text += "; calcium and phosphate results would allow the metabolic rules to run"
    if not view.lesions:
        text += "; no lesion was described"
    reason = Reason(
        text=text, basis=make_basis(pack, sources=[r for rule in pack.rules[:1] for r in rule.sources])
    )
    return SubtypeCall(
        code=SubtypeCode.UNDETERMINED, name="Undetermined", confidence="none", reasons=(reason,)
    )
