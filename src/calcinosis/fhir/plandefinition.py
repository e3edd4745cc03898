"""The knowledge pack as FHIR R4 knowledge artifacts another CPG engine can load.

- one ``PlanDefinition`` (clinical-protocol): the management strategy. Its actions are the work-up by
  scenario, the classification rules, the therapies for each clinical setting and the context alerts, each
  with its applicability ``condition`` (named predicates, described in words) and its sources as
  ``documentation``.
  Therapy actions carry ``cqf-qualityOfEvidence`` (the derived A–E level) and ``cqf-strengthOfRecommendation``
  (the line of therapy a source states for that setting), both CodeableConcepts as the extensions define;
- one ``ActivityDefinition`` per therapy, with every source it cites as ``relatedArtifact``;
- the ``CodeSystem`` resources those codes come from.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from calcinosis.fhir.canonical import (
    BASE,
    CS_FIT,
    CS_ITEM,
    CS_SUBTYPE,
    PLAN_TYPE,
    activity_url,
    coding,
    pascal,
    plan_url,
    quality_extension,
    related_artifact,
    strength_extension,
)
from calcinosis.fhir.codesystems import code_systems
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.models import LineName, SourceRef, Therapy

PREDICATE_LANGUAGE = "text/x-calcinosis-predicates"


def _docs(pack: KnowledgePack, refs: Iterable[SourceRef]) -> list[dict[str, Any]]:
    out: dict[tuple[str, str | None], dict[str, Any]] = {}
    for ref in refs:
        src = pack.sources[ref.source]
        titles = {s.id: s.title for s in src.sections}
        section = titles.get(ref.section, ref.section) if ref.section else None
        ids = src.identifiers
        out.setdefault(
            (src.id, section),
            related_artifact(
                src.short, src.citation, pmid=ids.pmid, doi=ids.doi, link=ids.url, section=section
            ),
        )
    return list(out.values())


def _condition(
    pack: KnowledgePack,
    *,
    all_of: Iterable[str] = (),
    any_of: Iterable[str] = (),
    none_of: Iterable[str] = (),
    subtypes: Iterable[str] = (),
) -> dict[str, Any]:
    parts, words = [], []
    for op, ids, label in (
        ("all", all_of, "all of"),
        ("any", any_of, "any of"),
        ("none", none_of, "none of"),
    ):
        ids = list(ids)
        if ids:
            parts.append(f"{op}({', '.join(ids)})")
            words.append(f"{label}: " + "; ".join(pack.predicates[i].description for i in ids))
    subtypes = list(subtypes)
    if subtypes:
        parts.append(f"subtype-in({', '.join(subtypes)})")
        words.append("subtype call is " + " or ".join(subtypes))
    return {
        "kind": "applicability",
        "expression": {
            "language": PREDICATE_LANGUAGE,
            "expression": " and ".join(parts) or "true",
            "description": ". ".join(words) or "Always applies.",
        },
    }


def _workup_actions(pack: KnowledgePack) -> list[dict[str, Any]]:
    actions = []
    for sc in pack.scenarios.values():
        items = [w for w in pack.workup.values() if sc.id in w.needed_when]
        sub = [
            {
                "id": f"workup-{w.id}",
                "title": w.name,
                "description": w.purpose,
                "code": [{"coding": [coding(CS_ITEM, w.id, w.name)] + [c.model_dump() for c in w.codes]}],
                "documentation": _docs(pack, w.sources),
            }
            for w in items
        ]
        action: dict[str, Any] = {
            "id": f"scenario-{sc.id}",
            "title": sc.name,
            "description": sc.description,
            "documentation": _docs(pack, sc.sources),
            "selectionBehavior": "all",
        }
        if sc.id != "all":
            action["condition"] = [_condition(pack, any_of=sc.applies_when, subtypes=sc.subtypes)]
        if sub:
            action["action"] = sub
        actions.append(action)
    return actions


def _rule_actions(pack: KnowledgePack) -> list[dict[str, Any]]:
    out = []
    for rule in pack.rules:
        target = [coding(CS_SUBTYPE, rule.subtype.value)]
        if rule.variant:
            target.append(coding(CS_SUBTYPE, rule.variant, pack.subtypes[rule.variant].name))
        action: dict[str, Any] = {
            "id": f"rule-{rule.id}",
            "title": rule.title,
            "code": [{"coding": target, "text": f"confidence {rule.confidence}"}],
            "condition": [_condition(pack, all_of=rule.all_of, any_of=rule.any_of, none_of=rule.none_of)],
            "documentation": _docs(pack, rule.sources),
        }
        if rule.caveat:
            action["description"] = rule.caveat
        out.append(action)
    return out


def _line_for(therapy: Therapy, setting: str) -> str | None:
    own = [ln for ln in therapy.lines if ln.setting == setting]
    general = [ln for ln in therapy.lines if ln.setting is None]
    chosen = own or general
    return min((ln.line for ln in chosen), key=lambda v: v.rank).value if chosen else None


def _therapy_actions(pack: KnowledgePack, setting: str) -> list[dict[str, Any]]:
    rows = []
    for t in pack.therapies.values():
        for fit in t.settings:
            if fit.setting == setting:
                line = _line_for(t, setting)
                rows.append((fit.fit.rank, LineName(line).rank if line else len(LineName), t, fit, line))
    rows.sort(key=lambda r: (r[0], r[1], (pack.evidence[r[2].id].derived or "Z"), r[2].id))
    out = []
    for _, _, t, fit, line in rows:
        level = pack.evidence[t.id].derived
        refs = [*fit.sources, *(ln.source for ln in t.lines if ln.setting in (None, setting))]
        action: dict[str, Any] = {
            "id": f"{setting}-{t.id}",
            "title": t.name,
            "description": fit.note or t.summary,
            "code": [{"coding": [coding(CS_FIT, fit.fit.value, f"{fit.fit.value} in this setting")]}],
            "definitionCanonical": activity_url(t.id),
            "documentation": _docs(pack, refs),
            "extension": [quality_extension(level.value if level else None), strength_extension(line)],
        }
        out.append(action)
    return out


def _alert_actions(pack: KnowledgePack) -> list[dict[str, Any]]:
    return [
        {
            "id": f"alert-{al.id}",
            "title": al.text,
            "priority": "routine" if al.severity == "info" else "urgent",
            "code": [{"coding": [coding(CS_ITEM, al.id)], "text": f"{al.severity} alert"}],
            "condition": [_condition(pack, all_of=al.trigger)],
            "documentation": _docs(pack, al.sources),
        }
        for al in pack.alerts
    ]


def plan_definition(pack: KnowledgePack) -> dict[str, Any]:
    m = pack.meta
    settings = [
        {
            "id": f"setting-{s.id}",
            "title": s.name,
            "code": [{"coding": [coding(CS_SUBTYPE, s.subtype)]}],
            "documentation": _docs(pack, s.sources),
            "selectionBehavior": "any",
            "action": _therapy_actions(pack, s.id),
        }
        for s in pack.settings.values()
    ]
    groups = [
        ("workup", "Work-up by scenario", _workup_actions(pack)),
        ("classification", "Subtype classification rules", _rule_actions(pack)),
        ("management", "Therapies by clinical setting", [s for s in settings if s["action"]]),
        ("alerts", "Context alerts", _alert_actions(pack)),
    ]
    cited = {ref.source for t in pack.therapies.values() for ref in t.summary_sources}
    return {
        "resourceType": "PlanDefinition",
        "id": m.id,
        "url": plan_url(m.id),
        "version": m.version,
        "name": pascal(m.id) + "Management",
        "title": m.title,
        "type": {"coding": [{"system": PLAN_TYPE, "code": "clinical-protocol"}]},
        "status": "draft",
        "date": m.last_reviewed,
        "publisher": m.publisher,
        "description": m.disclaimer,
        "usage": f"Evidence grading: {m.grading_system}",
        "lastReviewDate": m.last_reviewed,
        "relatedArtifact": _docs(pack, [SourceRef(source=s) for s in sorted(cited)]),
        "action": [{"id": gid, "title": title, "action": acts} for gid, title, acts in groups if acts],
    }


def activity_definition(pack: KnowledgePack, t: Therapy) -> dict[str, Any]:
    refs: list[SourceRef] = [*t.summary_sources, *t.mechanism_sources]
    refs += [r for s in t.studies for r in s.sources] + [ln.source for ln in t.lines]
    refs += [r for c in t.cautions for r in c.sources] + [r for d in t.doses_reported for r in d.sources]
    ad: dict[str, Any] = {
        "resourceType": "ActivityDefinition",
        "id": t.id,
        "url": activity_url(t.id),
        "version": pack.meta.version,
        "name": pascal(t.id),
        "title": t.name,
        "status": "draft",
        "date": pack.meta.last_reviewed,
        "publisher": pack.meta.publisher,
        "description": t.summary,
        "purpose": t.mechanism,
        "kind": "MedicationRequest" if t.kind == "drug" else "ServiceRequest",
        "code": {"coding": [coding(CS_ITEM, t.id, t.name)], "text": t.name},
        "relatedArtifact": _docs(pack, refs),
    }
    if t.doses_reported:
        ad["usage"] = "Doses reported by sources (not a prescription): " + "; ".join(
            d.text for d in t.doses_reported
        )
    if t.kind == "drug":
        ad["productCodeableConcept"] = {"text": ", ".join(t.agents) or t.name}
    return ad


def pack_to_fhir(pack: KnowledgePack) -> list[dict[str, Any]]:
    """PlanDefinition, one ActivityDefinition per therapy, and the CodeSystems they use."""
    return [
        plan_definition(pack),
        *(activity_definition(pack, t) for t in pack.therapies.values()),
        *code_systems(pack),
    ]


def write_pack_fhir(pack: KnowledgePack, directory: Path) -> list[Path]:
    """Write each resource as ``<Type>-<id>.json`` plus ``bundle.json`` (a collection of all of them)."""
    directory.mkdir(parents=True, exist_ok=True)
    resources = pack_to_fhir(pack)
    written = []
    for r in resources:
        path = directory / f"{r['resourceType']}-{r['id']}.json"
        path.write_bytes(orjson.dumps(r, option=orjson.OPT_INDENT_2) + b"\n")
        written.append(path)
    bundle = {
        "resourceType": "Bundle",
        "id": f"{pack.meta.id}-{pack.short_hash}",
        "type": "collection",
        "entry": [{"fullUrl": r["url"], "resource": r} for r in resources],
    }
    path = directory / "bundle.json"
    path.write_bytes(orjson.dumps(bundle, option=orjson.OPT_INDENT_2) + b"\n")
    return [*written, path]


__all__ = [
    "BASE",
    "activity_definition",
    "code_systems",
    "pack_to_fhir",
    "plan_definition",
    "write_pack_fhir",
]
