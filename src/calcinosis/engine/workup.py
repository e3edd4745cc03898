"""Investigations for the scenarios that apply to this patient, each marked missing, done or abnormal."""

from __future__ import annotations

from calcinosis.engine.basis import make_basis
from calcinosis.engine.facts import Fact, FactView
from calcinosis.engine.predicates import evaluate
from calcinosis.engine.results import SubtypeCall, WorkupEntry, WorkupStatus
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.models import WorkupItem, WorkupScenario

STATUS_ORDER = {WorkupStatus.MISSING: 0, WorkupStatus.ABNORMAL: 1, WorkupStatus.DONE: 2}


def active_scenarios(
    view: FactView, call: SubtypeCall, pack: KnowledgePack
) -> list[tuple[WorkupScenario, list[Fact]]]:
    codes = {call.code, *(a.code for a in call.alternatives)}
    out: list[tuple[WorkupScenario, list[Fact]]] = []
    for scenario in pack.scenarios.values():
        facts: list[Fact] = []
        applies = scenario.id == "all" or bool(codes & set(scenario.subtypes))
        for name in scenario.applies_when:
            found = evaluate(name, view)
            if found.holds:
                applies = True
                facts.extend(found.facts)
        if call.variant is not None and call.variant in scenario.unless_variants:
            applies = False
        if applies:
            out.append((scenario, facts))
    return out


def _status(item: WorkupItem, view: FactView) -> tuple[WorkupStatus, str | None, list[Fact]]:
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


def plan_workup(view: FactView, call: SubtypeCall, pack: KnowledgePack) -> tuple[WorkupEntry, ...]:
    scenarios = active_scenarios(view, call, pack)
    names = {s.id: s.name for s, _ in scenarios}
    trigger_facts = {s.id: facts for s, facts in scenarios}
    entries: list[WorkupEntry] = []
    for item in pack.workup.values():
        applying = [s for s in item.needed_when if s in names]
        if not applying:
            continue
        status, result, facts = _status(item, view)
        why = f"{item.purpose} Needed for: {', '.join(names[s] for s in applying)}."
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
                basis=make_basis(
                    pack,
                    rules=[f"workup:{s}" for s in applying],
                    facts=basis_facts,
                    sources=[*item.sources, *scenario_sources],
                ),
            )
        )
    entries.sort(key=lambda e: STATUS_ORDER[e.status])
    return tuple(entries)
