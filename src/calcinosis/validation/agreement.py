"""Agreement between what the sources expect and what the engine says, per case and per field.

Only the public Assessment contract (docs/assessment.md) is read, through its JSON form:
``subtype.code``, ``subtype.variant``, ``therapies[].id/.stance/.rank`` and ``workup[].id/.status``.
The engine's internals are never touched, so a rewritten engine is judged by the same rules.

Rules per field (a field with nothing expected is not judged):

- subtype: the engine's ``subtype.code`` equals the expected code.
- variant: judged when a variant is expected or the engine gives one; the two must be equal.
- must_include: each id is listed with a stance other than ``avoid``.
- must_avoid: each id is absent or has stance ``avoid``.
- top_option: the option ranked first is one of the ids (any one agrees).
- workup_missing: each item is listed with status ``missing``.
- workup_not: no item is listed with status ``missing`` (not requested).

A list field agrees for a case only when every one of its ids agrees; the per-id counts are kept too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from calcinosis import assess
from calcinosis.engine.results import Stance, WorkupStatus
from calcinosis.pack import KnowledgePack, load_pack_cached
from calcinosis.validation.loader import Corpus, LoadedCase
from calcinosis.validation.models import (
    FIELDS,
    CaseResult,
    Expectation,
    FieldResult,
    FieldSummary,
    ValidationReport,
)

AssessmentJson = Mapping[str, Any]


def _subtype(a: AssessmentJson) -> tuple[str | None, str | None]:
    sub = a.get("subtype")
    if not isinstance(sub, Mapping):
        return None, None
    code = sub.get("code")
    variant = sub.get("variant")
    return (str(code) if code is not None else None), (str(variant) if variant is not None else None)


def _therapies(a: AssessmentJson) -> list[Mapping[str, Any]]:
    items = a.get("therapies") or []
    out = [t for t in items if isinstance(t, Mapping) and "id" in t]
    return sorted(out, key=lambda t: (t.get("rank") is None, t.get("rank") or 0))


def _workup(a: AssessmentJson) -> dict[str, str]:
    out: dict[str, str] = {}
    for w in a.get("workup") or []:
        if isinstance(w, Mapping) and "id" in w:
            out[str(w["id"])] = str(w.get("status"))
    return out


def _list_result(field: str, checks: Sequence[tuple[bool, str]]) -> FieldResult:
    if not checks:
        return FieldResult(field=field, judged=False, agreed=False)
    agreed = sum(1 for ok, _ in checks if ok)
    return FieldResult(
        field=field,
        judged=True,
        agreed=agreed == len(checks),
        items_judged=len(checks),
        items_agreed=agreed,
        reasons=tuple(why for ok, why in checks if not ok),
    )


def judge(expectation: Expectation, assessment: AssessmentJson) -> tuple[FieldResult, ...]:
    """Compare one expectation with one assessment (its JSON form). Pure."""
    code, variant = _subtype(assessment)
    therapies = _therapies(assessment)
    by_id = {str(t["id"]): t for t in therapies}
    workup = _workup(assessment)
    results: list[FieldResult] = []

    ok = code == expectation.subtype
    results.append(
        FieldResult(
            field="subtype",
            judged=True,
            agreed=ok,
            items_judged=1,
            items_agreed=int(ok),
            reasons=() if ok else (f"expected {expectation.subtype}, engine said {code or 'no subtype'}",),
        )
    )

    if expectation.variant is None and variant is None:
        results.append(FieldResult(field="variant", judged=False, agreed=False))
    else:
        ok = variant == expectation.variant
        results.append(
            FieldResult(
                field="variant",
                judged=True,
                agreed=ok,
                items_judged=1,
                items_agreed=int(ok),
                reasons=()
                if ok
                else (
                    f"expected {expectation.variant or 'no variant'}, engine said {variant or 'no variant'}",
                ),
            )
        )

    include: list[tuple[bool, str]] = []
    for tid in expectation.must_include:
        t = by_id.get(tid)
        if t is None:
            include.append((False, f"{tid}: expected as an option, engine did not list it"))
        elif t.get("stance") == Stance.AVOID:
            include.append(
                (False, f"{tid}: expected as an option, engine listed it as avoid (rank {t.get('rank')})")
            )
        else:
            include.append((True, ""))
    results.append(_list_result("must_include", include))

    avoid: list[tuple[bool, str]] = []
    for tid in expectation.must_avoid:
        t = by_id.get(tid)
        if t is None or t.get("stance") == Stance.AVOID:
            avoid.append((True, ""))
        else:
            avoid.append(
                (
                    False,
                    f"{tid}: expected absent or avoid, engine said {t.get('stance')} (rank {t.get('rank')})",
                )
            )
    results.append(_list_result("must_avoid", avoid))

    if not expectation.top_option:
        results.append(FieldResult(field="top_option", judged=False, agreed=False))
    else:
        first = str(therapies[0]["id"]) if therapies else None
        ok = first in expectation.top_option
        results.append(
            FieldResult(
                field="top_option",
                judged=True,
                agreed=ok,
                items_judged=1,
                items_agreed=int(ok),
                reasons=()
                if ok
                else (
                    f"expected one of {', '.join(expectation.top_option)} first, engine ranked {first or 'nothing'} first",
                ),
            )
        )

    missing: list[tuple[bool, str]] = []
    for wid in expectation.workup_missing:
        status = workup.get(wid)
        if status == WorkupStatus.MISSING:
            missing.append((True, ""))
        else:
            missing.append(
                (
                    False,
                    f"{wid}: expected as missing, engine {'did not list it' if status is None else 'said ' + status}",
                )
            )
    results.append(_list_result("workup_missing", missing))

    not_req: list[tuple[bool, str]] = []
    for wid in expectation.workup_not:
        status = workup.get(wid)
        not_req.append(
            (status != WorkupStatus.MISSING, f"{wid}: expected not requested, engine listed it as missing")
        )
    results.append(_list_result("workup_not", not_req))
    return tuple(results)


def summarise(results: Sequence[CaseResult]) -> tuple[FieldSummary, ...]:
    """Per field: cases judged and agreeing, the percentage, and the per-id counts."""
    out: list[FieldSummary] = []
    for name in FIELDS:
        rows = [f for r in results for f in r.fields if f.field == name and f.judged]
        judged = len(rows)
        agreed = sum(1 for f in rows if f.agreed)
        out.append(
            FieldSummary(
                field=name,
                judged=judged,
                agreed=agreed,
                percent=round(100.0 * agreed / judged, 1) if judged else None,
                items_judged=sum(f.items_judged for f in rows),
                items_agreed=sum(f.items_agreed for f in rows),
            )
        )
    return tuple(out)


def _assess_json(loaded: LoadedCase, pack: KnowledgePack) -> AssessmentJson:
    """Run the public engine on a loaded case and return the Assessment's JSON form."""
    result: dict[str, Any] = assess(loaded.case, pack, issues=loaded.issues).model_dump(mode="json")
    return result


def validate_corpus(corpus: Corpus, pack: KnowledgePack | None = None) -> ValidationReport:
    """Run the engine on every case of the corpus and report agreement per case and per field."""
    pack = pack or load_pack_cached()
    results: list[CaseResult] = []
    for loaded in corpus.cases:
        assessment = _assess_json(loaded, pack)
        code, variant = _subtype(assessment)
        results.append(
            CaseResult(
                id=loaded.entry.id,
                file=loaded.file,
                expected_subtype=loaded.entry.expectation.subtype,
                engine_subtype=code,
                engine_variant=variant,
                fields=judge(loaded.entry.expectation, assessment),
                disagreement_recorded=loaded.entry.expectation.disagreement,
            )
        )
    return ValidationReport(
        corpus=str(corpus.root),
        cases=len(results),
        pack_version=pack.meta.version,
        pack_hash=pack.short_hash,
        fields=summarise(results),
        results=tuple(results),
        notes=corpus.notes,
    )
