"""Context alerts (dossier §4.1, §5.7) whose triggers all hold for this patient."""

from __future__ import annotations

from calcinosis.engine.basis import make_basis
from calcinosis.engine.facts import Fact, FactView
from calcinosis.engine.predicates import evaluate
from calcinosis.engine.results import Alert, Stance
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.models import AlertSeverity

# The stance an alert naming a therapy imposes on it (an info alert imposes none).
STANCE_FOR = {AlertSeverity.CRITICAL: Stance.AVOID, AlertSeverity.WARNING: Stance.USE_WITH_CAUTION}


def fire_alerts(
    view: FactView, pack: KnowledgePack
) -> tuple[tuple[Alert, ...], dict[str, tuple[Stance, str]]]:
    alerts: list[Alert] = []
    lowered: dict[str, tuple[Stance, str]] = {}
    fired = [a for a in pack.alerts if all(evaluate(name, view).holds for name in a.trigger)]
    fired_ids = {a.id for a in fired}
    for alert in fired:
        if fired_ids & set(alert.superseded_by):
            continue
        facts: list[Fact] = []
        holds = True
        for name in alert.trigger:
            found = evaluate(name, view)
            if not found.holds:
                holds = False
                break
            facts.extend(found.facts)
        if not holds:
            continue
        alerts.append(
            Alert(
                id=alert.id,
                severity=alert.severity,
                text=alert.text + ("" if alert.verified else " (basis not verified against its source)"),
                therapies=alert.therapies,
                basis=make_basis(pack, rules=[f"alert:{alert.id}"], facts=facts, sources=alert.sources),
            )
        )
        stance = STANCE_FOR.get(alert.severity)
        if stance is not None:
            for tid in alert.against:
                if tid not in lowered or stance is Stance.AVOID:
                    lowered[tid] = (stance, f"Alert ({alert.severity}): {alert.text}")
    alerts.sort(key=lambda a: a.severity.rank)
    return tuple(alerts), lowered
