"""Read the YAML knowledge pack into validated models and cross-check every id.

Errors name the file and the field path, e.g. ``therapies/diltiazem.yaml: studies.0.design: ...``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from calcinosis.datacache import cached, package_code, safe_yaml
from calcinosis.errors import PackError
from calcinosis.pack.conflicts import derive_level_conflicts
from calcinosis.pack.knowledge import KnowledgePack, Predicate, Setting, TherapyEvidence
from calcinosis.pack.labels import LABELS_FILE, load_label_book
from calcinosis.pack.levels import derive_level
from calcinosis.pack.models import (
    Conflict,
    ContextAlert,
    OutcomeRules,
    PackMeta,
    RankingRule,
    ReferenceInterval,
    RiskContext,
    Scoring,
    Source,
    SourceRef,
    Subtype,
    SubtypeRule,
    Therapy,
    WorkupItem,
    WorkupScenario,
)

M = TypeVar("M", bound=BaseModel)

PACK_FILES = (
    "pack.yaml",
    "settings.yaml",
    "predicates.yaml",
    "subtypes.yaml",
    "workup.yaml",
    "rules.yaml",
    "alerts.yaml",
    "conflicts.yaml",
    "reference-intervals.yaml",
    "scoring.yaml",
    "ranking.yaml",
    "risk.yaml",
    "outcomes.yaml",
)


def default_pack_dir() -> Path:
    return Path(str(resources.files("calcinosis.pack") / "data"))


def _read_yaml(path: Path, rel: str) -> Any:
    from yaml import YAMLError

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise PackError(f"{rel}: file is missing") from exc
    try:
        return safe_yaml(text)
    except YAMLError as exc:
        raise PackError(f"{rel}: not valid YAML: {exc}") from exc


def _validate(model: type[M], data: Any, rel: str, where: str = "") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        path = f"{where}.{loc}" if where and loc else (where or loc)
        raise PackError(f"{rel}: {path or '(top)'}: {err['msg']}") from exc


def _validate_list(model: type[M], data: Any, rel: str, key: str) -> tuple[M, ...]:
    if not isinstance(data, dict) or key not in data:
        raise PackError(f"{rel}: expected a mapping with a '{key}' list")
    extra = set(data) - {key}
    if extra:
        raise PackError(f"{rel}: unknown top-level key(s): {', '.join(sorted(extra))}")
    items = data[key]
    if not isinstance(items, list):
        raise PackError(f"{rel}: {key}: expected a list")
    out = tuple(_validate(model, item, rel, f"{key}.{i}") for i, item in enumerate(items))
    _unique((x for x in out), rel, key)
    return out


def _unique(items: Iterator[BaseModel], rel: str, key: str) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        ident = getattr(item, "id", None)
        if ident is None:
            continue
        if ident in seen:
            raise PackError(f"{rel}: {key}.{i}.id: duplicate id '{ident}'")
        seen.add(ident)


def load_pack(directory: Path | None = None) -> KnowledgePack:
    """Load, validate and cross-check the pack in ``directory`` (default: the bundled pack)."""
    root = directory or default_pack_dir()
    if not root.is_dir():
        raise PackError(f"{root}: pack directory not found")
    digest = hashlib.sha256()
    raw: dict[str, Any] = {}
    for name in PACK_FILES:
        path = root / name
        raw[name] = _read_yaml(path, name)
        digest.update(name.encode() + b"\0" + path.read_bytes())
    source_files = sorted((root / "sources").glob("*.yaml"))
    if not source_files:
        raise PackError("sources/: no source files")
    sources: list[Source] = []
    for path in source_files:
        rel = f"sources/{path.name}"
        digest.update(rel.encode() + b"\0" + path.read_bytes())
        sources.extend(_validate_list(Source, _read_yaml(path, rel), rel, "sources"))
    _unique(iter(sources), "sources/", "sources")
    therapy_files = sorted((root / "therapies").glob("*.yaml"))
    if not therapy_files:
        raise PackError("therapies/: no therapy files")
    therapies: list[Therapy] = []
    for path in therapy_files:
        rel = f"therapies/{path.name}"
        digest.update(rel.encode() + b"\0" + path.read_bytes())
        therapy = _validate(Therapy, _read_yaml(path, rel), rel)
        if therapy.id != path.stem:
            raise PackError(f"{rel}: id: '{therapy.id}' does not match the file name")
        therapies.append(therapy)

    meta = _validate(PackMeta, raw["pack.yaml"], "pack.yaml")
    settings = _validate_list(Setting, raw["settings.yaml"], "settings.yaml", "settings")
    predicates = _validate_list(Predicate, raw["predicates.yaml"], "predicates.yaml", "predicates")
    subtypes = _validate_list(Subtype, raw["subtypes.yaml"], "subtypes.yaml", "subtypes")
    wraw = raw["workup.yaml"]
    if not isinstance(wraw, dict) or set(wraw) != {"scenarios", "items"}:
        raise PackError("workup.yaml: expected exactly the keys 'scenarios' and 'items'")
    scenarios = _validate_list(WorkupScenario, {"scenarios": wraw["scenarios"]}, "workup.yaml", "scenarios")
    workup = _validate_list(WorkupItem, {"items": wraw["items"]}, "workup.yaml", "items")
    rules = _validate_list(SubtypeRule, raw["rules.yaml"], "rules.yaml", "rules")
    alerts = _validate_list(ContextAlert, raw["alerts.yaml"], "alerts.yaml", "alerts")
    conflicts = _validate_list(Conflict, raw["conflicts.yaml"], "conflicts.yaml", "conflicts")
    intervals = _validate_list(
        ReferenceInterval, raw["reference-intervals.yaml"], "reference-intervals.yaml", "intervals"
    )
    scoring = _validate(Scoring, raw["scoring.yaml"], "scoring.yaml")
    ranking = _validate_list(RankingRule, raw["ranking.yaml"], "ranking.yaml", "rules")
    risks = _validate_list(RiskContext, raw["risk.yaml"], "risk.yaml", "contexts")
    outcomes = _validate(OutcomeRules, raw["outcomes.yaml"], "outcomes.yaml")
    _unique(iter(therapies), "therapies/", "therapies")
    digest.update(LABELS_FILE.encode() + b"\0" + (root / LABELS_FILE).read_bytes())
    labels = load_label_book(
        root, {s.id for s in sources}, {t.id for t in therapies}, {p.id for p in predicates}
    )
    by_analyte: dict[str, list[ReferenceInterval]] = {}
    for interval in intervals:
        by_analyte.setdefault(interval.analyte, []).append(interval)

    pack = KnowledgePack(
        meta=meta,
        content_hash=digest.hexdigest(),
        sources={s.id: s for s in sources},
        settings={s.id: s for s in settings},
        predicates={p.id: p for p in predicates},
        subtypes={s.id: s for s in subtypes},
        scenarios={s.id: s for s in scenarios},
        workup={w.id: w for w in workup},
        rules=rules,
        alerts=alerts,
        conflicts=conflicts,
        reference_intervals={k: tuple(v) for k, v in by_analyte.items()},
        scoring=scoring,
        ranking_rules=ranking,
        risk_contexts=risks,
        labels=labels,
        outcomes=outcomes,
        therapies={t.id: t for t in therapies},
        evidence={t.id: _evidence(t) for t in therapies},
    )
    _cross_check(pack)
    return pack


def _evidence(therapy: Therapy) -> TherapyEvidence:
    derived = derive_level(therapy.studies)
    return TherapyEvidence(
        derived=derived,
        conflicts=derive_level_conflicts(therapy, derived),
    )


def _cross_check(pack: KnowledgePack) -> None:
    """Every id that one record names must exist."""

    def refs(rel: str, where: str, items: tuple[SourceRef, ...]) -> None:
        for i, ref in enumerate(items):
            src = pack.sources.get(ref.source)
            if src is None:
                raise PackError(f"{rel}: {where}.{i}.source: unknown source '{ref.source}'")
            if ref.section is not None and src.sections and ref.section not in {s.id for s in src.sections}:
                raise PackError(f"{rel}: {where}.{i}.section: '{ref.section}' is not a section of '{src.id}'")

    def known(rel: str, where: str, value: str, table: dict[str, Any] | set[str], what: str) -> None:
        if value not in table:
            raise PackError(f"{rel}: {where}: unknown {what} '{value}'")

    def walk(rel: str, where: str, obj: Any) -> None:
        """Check every SourceRef anywhere inside a model."""
        if isinstance(obj, SourceRef):
            refs(rel, where, (obj,))
        elif isinstance(obj, BaseModel):
            for name in type(obj).model_fields:
                walk(rel, f"{where}.{name}" if where else name, getattr(obj, name))
        elif isinstance(obj, tuple):
            for i, item in enumerate(obj):
                walk(rel, f"{where}.{i}", item)

    walk("pack.yaml", "", pack.meta)
    for name, table in (
        ("settings.yaml", pack.settings),
        ("predicates.yaml", pack.predicates),
        ("subtypes.yaml", pack.subtypes),
        ("workup.yaml", pack.workup),
        ("workup.yaml", pack.scenarios),
    ):
        for key, item in table.items():
            walk(name, key, item)
    for rule in pack.rules:
        walk("rules.yaml", rule.id, rule)
        for p in (*rule.all_of, *rule.any_of, *rule.none_of):
            known("rules.yaml", f"{rule.id}.predicates", p, pack.predicates, "predicate")
        if rule.variant is not None:
            known("rules.yaml", f"{rule.id}.variant", rule.variant, pack.subtypes, "subtype")
        for w in rule.decided_by:
            known("rules.yaml", f"{rule.id}.decided_by", w, pack.workup, "work-up item")
        for v in rule.except_variants:
            known("rules.yaml", f"{rule.id}.except_variants", v, pack.subtypes, "subtype")
    candidates = {r.subtype.value for r in pack.rules} | {
        f"{r.subtype.value}/{r.variant}" for r in pack.rules if r.variant
    }
    for item in pack.workup.values():
        for p in (*item.only_when, *item.not_when):
            known("workup.yaml", f"{item.id}.only_when", p, pack.predicates, "predicate")
        for sc in (*item.needed_when, *item.optional_in):
            known("workup.yaml", f"{item.id}.needed_when", sc, pack.scenarios, "scenario")
        for c in item.informs:
            known("workup.yaml", f"{item.id}.informs", c, candidates, "candidate")
    for scenario in pack.scenarios.values():
        for p in scenario.applies_when:
            known("workup.yaml", f"{scenario.id}.applies_when", p, pack.predicates, "predicate")
    walk("scoring.yaml", "", pack.scoring)
    for rr in pack.ranking_rules:
        walk("ranking.yaml", rr.id, rr)
        for p in (*rr.when, *rr.unless):
            known("ranking.yaml", f"{rr.id}.when", p, pack.predicates, "predicate")
        for t in (*rr.lead, *rr.therapies):
            known("ranking.yaml", f"{rr.id}.therapies", t, pack.therapies, "therapy")
        for st in rr.settings:
            known("ranking.yaml", f"{rr.id}.settings", st, pack.settings, "setting")
    walk("outcomes.yaml", "", pack.outcomes)
    for a in pack.outcomes.adequate_days:
        known("outcomes.yaml", f"adequate_days.{a.therapy}", a.therapy, pack.therapies, "therapy")
    for risk in pack.risk_contexts:
        walk("risk.yaml", risk.id, risk)
        for p in risk.any_of:
            known("risk.yaml", f"{risk.id}.any_of", p, pack.predicates, "predicate")
    for analyte, intervals in pack.reference_intervals.items():
        for i, ri in enumerate(intervals):
            walk("reference-intervals.yaml", f"{analyte}.{i}", ri)
    for alert in pack.alerts:
        walk("alerts.yaml", alert.id, alert)
        for p in alert.trigger:
            known("alerts.yaml", f"{alert.id}.trigger", p, pack.predicates, "predicate")
        ids = {a.id for a in pack.alerts}
        for other in alert.superseded_by:
            known("alerts.yaml", f"{alert.id}.superseded_by", other, ids, "alert")
        for t in (*alert.therapies, *alert.against):
            known("alerts.yaml", f"{alert.id}.therapies", t, pack.therapies, "therapy")
    for conflict in pack.conflicts:
        walk("conflicts.yaml", conflict.id, conflict)
    for scenario in pack.scenarios.values():
        for v in (*scenario.unless_variants, *scenario.variants):
            known("workup.yaml", f"{scenario.id}.unless_variants", v, pack.subtypes, "subtype")
    for therapy in pack.therapies.values():
        rel = f"therapies/{therapy.id}.yaml"
        walk(rel, "", therapy)
        for i, fit in enumerate(therapy.settings):
            known(rel, f"settings.{i}.setting", fit.setting, pack.settings, "setting")
        for i, line in enumerate(therapy.lines):
            if line.setting is not None:
                known(rel, f"lines.{i}.setting", line.setting, pack.settings, "setting")
        for i, study in enumerate(therapy.studies):
            for s in study.settings:
                known(rel, f"studies.{i}.settings", s, pack.settings, "setting")
        for i, caution in enumerate(therapy.cautions):
            for p in caution.when:
                known(rel, f"cautions.{i}.when", p, pack.predicates, "predicate")
        for i, target in enumerate(therapy.targets):
            known(rel, f"targets.{i}", target, pack.predicates, "predicate")


def load_pack_cached() -> KnowledgePack:
    """The bundled pack, loaded once per process."""
    return _cached()


def _memo(fn: Callable[[], KnowledgePack]) -> Callable[[], KnowledgePack]:
    box: list[KnowledgePack] = []

    def wrapper() -> KnowledgePack:
        if not box:
            box.append(fn())
        return box[0]

    return wrapper


def pack_files(root: Path) -> list[Path]:
    """Every file of the pack in ``root`` (what its content hash and its cache key are made of)."""
    return sorted(p for p in root.rglob("*.yaml") if p.is_file())


@_memo
def _cached() -> KnowledgePack:
    """From the validated cache (:mod:`calcinosis.datacache`) when it was built from these very files by
    this very code, else loaded and validated from the YAML (and the cache rewritten)."""
    root = default_pack_dir()
    return cached("pack", pack_files(root), package_code(__file__), lambda: load_pack(root), KnowledgePack)
