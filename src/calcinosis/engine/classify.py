"""The weighed differential (dossier §1.4 rules read as §1.5 says): every subtype and variant is a candidate,
scored from the findings that support and oppose it; the call is the best candidate, if calcinosis is recorded
and the score reaches the pack's threshold.

Weights, groups and thresholds are pack data (``rules.yaml``, ``scoring.yaml``); this module only adds them up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from calcinosis.engine.basis import make_basis
from calcinosis.engine.facts import Fact, FactView
from calcinosis.engine.predicates import evaluate
from calcinosis.engine.results import (
    CalcinosisEvidence,
    Candidate,
    FindingOut,
    NextTest,
    Reason,
    SubtypeAlternative,
    SubtypeCall,
    WorkupStatus,
)
from calcinosis.engine.workup import item_status
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.models import SubtypeCode, SubtypeRule

Confidence = Literal["high", "medium", "low", "none"]
LOWER: dict[Confidence, Confidence] = {"high": "medium", "medium": "low", "low": "low", "none": "none"}
NOT_CALCINOSIS_NAME = "Not calcinosis cutis (cutaneous ossification)"
NO_CALCINOSIS_NAME = "No calcinosis recorded"


@dataclass(frozen=True)
class RuleResult:
    rule: SubtypeRule
    matched: bool
    facts: tuple[Fact, ...]
    held: tuple[str, ...]
    absent: tuple[str, ...]
    untested: tuple[str, ...]


@dataclass
class Scored:
    key: str
    code: SubtypeCode
    variant: str | None
    order: int
    support: list[RuleResult] = field(default_factory=list)
    oppose: list[RuleResult] = field(default_factory=list)
    unmatched: list[RuleResult] = field(default_factory=list)
    score: int = 0
    confidence: Confidence = "none"

    @property
    def follows_record(self) -> bool:
        return any(r.rule.follows_record for r in self.support)


@dataclass(frozen=True)
class Differential:
    call: SubtypeCall
    candidates: tuple[Candidate, ...]
    next_test: NextTest | None
    calcinosis: CalcinosisEvidence


def candidate_key(code: SubtypeCode, variant: str | None) -> str:
    return f"{code.value}/{variant}" if variant else code.value


def _evaluate_rule(rule: SubtypeRule, view: FactView, missing: set[str]) -> RuleResult:
    facts: list[Fact] = []
    held: list[str] = []
    absent: list[str] = []
    matched = True
    for name in rule.all_of:
        f = evaluate(name, view)
        facts.extend(f.facts)
        if f.holds:
            held.append(name)
        else:
            matched = False
    if rule.any_of:
        hits = [(n, evaluate(n, view)) for n in rule.any_of]
        good = [(n, f) for n, f in hits if f.holds]
        for n, f in good:
            facts.extend(f.facts)
            held.append(n)
        if not good:
            matched = False
    excluded = False
    for name in rule.none_of:
        f = evaluate(name, view)
        if f.holds:
            matched = False
            excluded = True
        else:
            facts.extend(f.facts)
            absent.append(name)
    # A finding ruled out by something present is decided; one that failed only for want of a finding may
    # still turn on a test that is missing.
    undecided = not matched and not excluded
    untested = tuple(w for w in rule.decided_by if w in missing) if undecided else ()
    return RuleResult(rule, matched, tuple(dict.fromkeys(facts)), tuple(held), tuple(absent), untested)


def _group_sum(results: Iterable[RuleResult]) -> int:
    best: dict[str, int] = {}
    for r in results:
        group = r.rule.group or f"rule:{r.rule.id}"
        best[group] = max(best.get(group, 0), r.rule.weight)
    return sum(best.values())


def _name(pack: KnowledgePack, code: SubtypeCode, variant: str | None) -> str:
    if variant:
        return pack.subtypes[variant].name
    if code is SubtypeCode.UNDETERMINED:
        return NOT_CALCINOSIS_NAME
    sub = pack.subtypes.get(code.value)
    return sub.name if sub else code.value.capitalize()


def _reason_text(r: RuleResult) -> str:
    text = r.rule.title
    if r.held:
        text += f" — found: {', '.join(r.held)}"
    if r.absent:
        text += f"; absent: {', '.join(r.absent)}"
    if r.rule.follows_record:
        text += ". The call follows the recorded diagnosis; findings that argue against it are listed"
    if r.rule.caveat:
        text += f". Caveat: {r.rule.caveat}"
    return text


def _finding(r: RuleResult) -> FindingOut:
    return FindingOut(
        rule=r.rule.id,
        text=r.rule.title,
        weight=r.rule.weight,
        facts=tuple(f.id for f in r.facts) if r.matched else (),
        tests=r.untested,
    )


def _confidence(s: Scored, best_other: int, pack: KnowledgePack) -> Confidence:
    sc = pack.scoring
    if s.score >= sc.high_score and s.score - best_other >= sc.high_margin:
        level: Confidence = "high"
    elif s.score >= sc.medium_score:
        level = "medium"
    elif s.score >= sc.call_threshold:
        level = "low"
    else:
        return "none"
    if any(r.untested for r in s.unmatched if r.rule.role == "oppose"):
        level = LOWER[level]
    return level


def _score_candidates(view: FactView, pack: KnowledgePack, missing: set[str]) -> list[Scored]:
    results = [_evaluate_rule(rule, view, missing) for rule in pack.rules]
    by_key: dict[str, Scored] = {}
    for i, r in enumerate(results):
        key = candidate_key(r.rule.subtype, r.rule.variant)
        if key not in by_key:
            by_key[key] = Scored(key, r.rule.subtype, r.rule.variant, i)
    for r in results:
        targets = [by_key[candidate_key(r.rule.subtype, r.rule.variant)]]
        if r.rule.role == "oppose" and r.rule.variant is None and r.rule.applies_to_variants:
            targets += [
                s
                for s in by_key.values()
                if s.code is r.rule.subtype
                and s.variant is not None
                and s.variant not in r.rule.except_variants
            ]
        for s in targets:
            if not r.matched:
                s.unmatched.append(r)
            elif r.rule.role == "support":
                s.support.append(r)
            else:
                s.oppose.append(r)
    for s in by_key.values():
        core = by_key.get(s.code.value)
        if s.variant is not None and s.support and core is not None:
            s.support = [*core.support, *s.support]
    scored = [s for s in by_key.values() if s.support]
    for s in scored:
        s.score = _group_sum(s.support) - _group_sum(s.oppose)
    scored.sort(key=lambda s: (-s.score, s.order))
    for s in scored:
        best_other = max((o.score for o in scored if o.code is not s.code), default=0)
        s.confidence = _confidence(s, best_other, pack)
    return scored


def _candidate_out(s: Scored, rank: int, pack: KnowledgePack) -> Candidate:
    missing = [r for r in s.unmatched if r.untested]
    return Candidate(
        key=s.key,
        code=s.code,
        variant=s.variant,
        name=_name(pack, s.code, s.variant),
        rank=rank,
        score=s.score,
        confidence=s.confidence,
        supporting=tuple(_finding(r) for r in s.support),
        opposing=tuple(_finding(r) for r in s.oppose),
        missing=tuple(_finding(r) for r in missing),
        basis=make_basis(
            pack,
            rules=[r.rule.id for r in (*s.support, *s.oppose)],
            facts=[f for r in (*s.support, *s.oppose) for f in r.facts],
            sources=[ref for r in (*s.support, *s.oppose) for ref in r.rule.sources],
        ),
    )


def _next_test(top: list[Scored], pack: KnowledgePack) -> NextTest | None:
    """The missing item that weighs most across the leading candidates' undecided findings."""
    weights: dict[str, int] = {}
    seen_in: dict[str, list[str]] = {}
    for s in top:
        for r in s.unmatched:
            for w in r.untested:
                weights[w] = weights.get(w, 0) + r.rule.weight
                if s.key not in seen_in.setdefault(w, []):
                    seen_in[w].append(s.key)
    if not weights:
        return None
    order = {wid: i for i, wid in enumerate(pack.workup)}
    best = min(weights, key=lambda w: (-len(seen_in[w]), -weights[w], order.get(w, 0)))
    item = pack.workup[best]
    keys = seen_in[best]
    names = [s.key for s in top]
    why = (
        f"Its result bears on {' and '.join(keys)}"
        + (f", the leading candidates ({' vs '.join(names)})" if len(names) > 1 else "")
        + f". {item.purpose}"
    )
    return NextTest(workup_id=best, name=item.name, separates=tuple(keys), why=why)


def _would_change(top: Scored, runner: Scored | None, pack: KnowledgePack) -> tuple[str, ...]:
    out: list[str] = []
    for r in top.unmatched:
        if r.rule.role == "oppose" and r.untested:
            tests = ", ".join(pack.workup[w].name for w in r.untested)
            out.append(f"Against {top.key}, if found: {r.rule.title} ({tests} not yet done).")
    if runner is not None:
        for r in runner.unmatched:
            if r.rule.role == "support" and r.untested:
                tests = ", ".join(pack.workup[w].name for w in r.untested)
                out.append(f"For {runner.key}, if found: {r.rule.title} ({tests} not yet done).")
        gap = top.score - runner.score
        out.append(f"{top.key} leads {runner.key} by {gap} (scores {top.score} vs {runner.score}).")
    return tuple(dict.fromkeys(out))


_DECIDING: dict[str, tuple[str, ...]] = {}


def _deciding_items(pack: KnowledgePack) -> tuple[str, ...]:
    """The work-up items some finding waits on (built once per pack)."""
    found = _DECIDING.get(pack.content_hash)
    if found is None:
        found = _DECIDING[pack.content_hash] = tuple(
            dict.fromkeys(w for rule in pack.rules for w in rule.decided_by if w in pack.workup)
        )
    return found


def classify(view: FactView, pack: KnowledgePack) -> Differential:
    missing = {
        wid for wid in _deciding_items(pack) if item_status(pack.workup[wid], view)[0] is WorkupStatus.MISSING
    }
    evidence = evaluate("calcinosis-recorded", view)
    calcinosis = CalcinosisEvidence(
        recorded=evidence.holds,
        text=(
            "Calcinosis is recorded (lesion, diagnosis, imaging or histology)."
            if evidence.holds
            else "No calcinosis recorded: no lesion, calcinosis diagnosis, imaging or histology of calcification."
        ),
        facts=tuple(f.id for f in evidence.facts),
    )
    if not evidence.holds:
        reason = Reason(
            text=(
                "No calcinosis recorded, so no subtype is called; the risk profile lists what this patient is "
                "at risk of and what to watch for."
            ),
            basis=make_basis(pack, rules=["calcinosis-recorded"], sources=pack.scoring.sources),
        )
        call = SubtypeCall(
            code=SubtypeCode.UNDETERMINED, name=NO_CALCINOSIS_NAME, confidence="none", reasons=(reason,)
        )
        return Differential(call, (), None, calcinosis)
    scored = _score_candidates(view, pack, missing)
    candidates = tuple(_candidate_out(s, i + 1, pack) for i, s in enumerate(scored))
    threshold = pack.scoring.call_threshold
    callable_ = [s for s in scored if s.score >= threshold]
    leaders: list[Scored] = []
    for s in scored:
        if all(s.code is not o.code for o in leaders):
            leaders.append(s)
        if len(leaders) == 2:
            break
    next_test = _next_test(leaders or scored[:1], pack)
    if not callable_:
        return Differential(_undetermined(view, pack, scored), candidates, next_test, calcinosis)
    top = callable_[0]
    runner = next((s for s in scored if s.code is not top.code), None)
    reasons = [
        Reason(
            text=_reason_text(r),
            basis=make_basis(pack, rules=[r.rule.id], facts=r.facts, sources=r.rule.sources),
        )
        for r in top.support
    ]
    reasons += [
        Reason(
            text=f"Argues against: {r.rule.title}",
            basis=make_basis(pack, rules=[r.rule.id], facts=r.facts, sources=r.rule.sources),
        )
        for r in top.oppose
    ]
    alternatives: dict[tuple[SubtypeCode, str | None], SubtypeAlternative] = {}
    for s in callable_[1:]:
        if s.code is top.code and (s.variant is None or top.variant is None):
            continue
        key = (s.code, s.variant)
        if key in alternatives:
            continue
        alternatives[key] = SubtypeAlternative(
            code=s.code,
            variant=s.variant,
            confidence="low" if s.confidence == "none" else s.confidence,
            reasons=tuple(
                Reason(
                    text=_reason_text(r),
                    basis=make_basis(pack, rules=[r.rule.id], facts=r.facts, sources=r.rule.sources),
                )
                for r in s.support
            ),
        )
    call = SubtypeCall(
        code=top.code,
        variant=top.variant,
        name=_name(pack, top.code, top.variant),
        confidence=top.confidence,
        reasons=tuple(reasons),
        alternatives=tuple(alternatives.values()),
        follows_record=top.follows_record,
        would_change=_would_change(top, runner, pack),
    )
    return Differential(call, candidates, next_test, calcinosis)


def _undetermined(view: FactView, pack: KnowledgePack, scored: list[Scored]) -> SubtypeCall:
    missing = evaluate("mineral-labs-missing", view).holds
    text = "No candidate has enough evidence for a call"
    if scored:
        text += " (best: " + ", ".join(f"{s.key} {s.score}" for s in scored[:3]) + ")"
    if missing:
        text += "; calcium and phosphate results would allow the metabolic findings to be judged"
    if not view.lesions:
        text += "; no lesion was described"
    reason = Reason(text=text, basis=make_basis(pack, sources=pack.scoring.sources))
    return SubtypeCall(
        code=SubtypeCode.UNDETERMINED,
        name="Undetermined",
        confidence="none",
        reasons=(reason,),
        would_change=tuple(
            f"For {s.key}, if found: {r.rule.title}"
            for s in scored[:2]
            for r in s.unmatched
            if r.rule.role == "support" and r.untested
        ),
    )
