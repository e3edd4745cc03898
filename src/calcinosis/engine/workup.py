"""Investigations for the scenarios that apply to this patient, each marked missing, done or abnormal."""

from __future__ import annotations

from typing import cast

from calcinosis.engine.basis import make_basis
from calcinosis.engine.facts import Fact, FactView
from calcinosis.engine.packmemo import per_pack
from calcinosis.engine.predicates import evaluate
from calcinosis.engine.results import SubtypeCall, WorkupEntry, WorkupStatus
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.models import WorkupItem, WorkupScenario

STATUS_ORDER = {WorkupStatus.MISSING: 0, WorkupStatus.ABNORMAL: 1, WorkupStatus.DONE: 2}


def active_scenarios(
    view: FactView, call: SubtypeCall, pack: KnowledgePack, calcinosis: bool = True
) -> list[tuple[WorkupScenario, list[Fact]]]:
    """Scenarios of dossier §2.4 that apply: by the call (and its alternatives) or a predicate. The baseline
    applies only when no specific scenario does (reading I4); without recorded calcinosis only the
    predicate-driven scenarios apply (the work-up that fits the risk context)."""
    codes = {call.code, *(a.code for a in call.alternatives)} if calcinosis else set()
    found: list[tuple[WorkupScenario, list[Fact]]] = []
    for scenario in pack.scenarios.values():
        facts: list[Fact] = []
        applies = bool(codes & set(scenario.subtypes)) or (calcinosis and call.variant in scenario.variants)
        for name in scenario.applies_when:
            hit = evaluate(name, view)
            if hit.holds:
                applies = True
                facts.extend(hit.facts)
        if call.variant is not None and call.variant in scenario.unless_variants:
            applies = False
        if applies and scenario.kind != "baseline":
            found.append((scenario, facts))
    if calcinosis and not any(s.kind == "specific" for s, _ in found):
        found = [(s, []) for s in pack.scenarios.values() if s.kind == "baseline"] + found
    return found


Status = tuple[WorkupStatus, str | None, list[Fact]]


def item_status(item: WorkupItem, view: FactView) -> Status:
    """Whether the record has the item: a lab result (abnormal when flagged) or an event; else missing.
    Worked out once per view (the differential and the work-up both ask)."""
    key = "status:" + item.id
    found = view.memo.get(key)
    if found is None:
        found = view.memo[key] = _item_status(item, view)
    return cast(Status, found)


def _item_status(item: WorkupItem, view: FactView) -> Status:
    results = [lv for a in item.analytes if (lv := view.lab(a)) is not None]
    if results:
        abnormal = [lv for lv in results if lv.flag in {"H", "L", "A"}]
        shown = "; ".join(
            f"{lv.fact.text}: {lv.fact.value}{' (' + lv.flag + ')' if lv.flag in {'H', 'L', 'A'} else ''}"
            for lv in results
        )
        status = WorkupStatus.ABNORMAL if abnormal else WorkupStatus.DONE
        return status, shown, [lv.fact for lv in results]
    events = view.had_event(*item.events)
    if events:
        shown = "; ".join(f"{f.text}{': ' + f.value if f.value else ''}" for f in events)
        return WorkupStatus.DONE, shown, events
    return WorkupStatus.MISSING, None, []


@per_pack
def _bears_on(item: WorkupItem, pack: KnowledgePack) -> tuple[str, ...]:
    """Candidates the item bears on, from the pack alone."""
    named = [
        f"{r.subtype.value}/{r.variant}" if r.variant else r.subtype.value
        for r in pack.rules
        if item.id in r.decided_by
    ] + list(item.informs)
    return tuple(dict.fromkeys(named))


def _separates(item: WorkupItem, pack: KnowledgePack, present: list[str]) -> tuple[str, ...]:
    """Differential candidates the item's result bears on: those whose findings it decides, and those it
    informs, preferring candidates in this patient's differential."""
    named = _bears_on(item, pack)
    codes_present = {k.split("/")[0] for k in present}
    here = [k for k in named if k in present or k.split("/")[0] in codes_present]
    return tuple(here or named)


def plan_workup(
    view: FactView,
    call: SubtypeCall,
    pack: KnowledgePack,
    *,
    calcinosis: bool = True,
    present: list[str] | None = None,
) -> tuple[WorkupEntry, ...]:
    scenarios = active_scenarios(view, call, pack, calcinosis)
    names = {s.id: s.name for s, _ in scenarios}
    trigger_facts = {s.id: facts for s, facts in scenarios}
    entries: list[WorkupEntry] = []
    for item in pack.workup.values():
        applying = [s for s in item.needed_when if s in names]
        if not applying:
            continue
        if not calcinosis and item.kind in ("imaging", "histology", "genetic"):
            continue
        if item.only_when and not all(evaluate(p, view).holds for p in item.only_when):
            continue
        if any(evaluate(p, view).holds for p in item.not_when):
            continue
        status, result, facts = item_status(item, view)
        optional = all(s in item.optional_in for s in applying)
        why = f"{item.purpose} Needed for: {', '.join(names[s] for s in applying)}."
        if optional:
            why += " Optional in this scenario."
        basis_facts = facts + [f for s in applying for f in trigger_facts[s]]
        scenario_sources = [r for s in applying for r in pack.scenarios[s].sources]
        entries.append(
            WorkupEntry(
                id=item.id,
                name=item.name,
                kind=item.kind,
                status=status,
                why=why,
                result=result,
                separates=_separates(item, pack, present or []),
                optional=optional,
                basis=make_basis(
                    pack,
                    rules=[f"workup:{s}" for s in applying],
                    facts=basis_facts,
                    sources=[*item.sources, *scenario_sources],
                ),
            )
        )
    entries.sort(key=lambda e: (STATUS_ORDER[e.status], e.optional))
    return tuple(entries)
