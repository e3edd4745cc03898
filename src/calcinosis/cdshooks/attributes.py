"""ONC HTI-1 source attributes for evidence-based decision support interventions, per service.

The "uses" attributes are computed, not typed: every predicate the pack's rules, alerts, cautions and
therapy targets refer to is run by the engine over probe patients while recording which patient
attributes it reads; a category is "used" when some referenced predicate reads an attribute that
carries it. Categories the engine's patient model has no attribute for cannot be used and say so.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import fields
from functools import cache
from typing import Any

from calcinosis.cdshooks.discovery import ServiceSpec
from calcinosis.engine.facts import Fact, FactView
from calcinosis.engine.predicates import PREDICATES
from calcinosis.pack.knowledge import KnowledgePack

# HTI-1 category -> the engine patient attributes that would carry it.
CATEGORIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "race": ("Use of race", ("race",)),
    "ethnicity": ("Use of ethnicity", ("ethnicity",)),
    "language": ("Use of language", ("language",)),
    "sexualOrientation": ("Use of sexual orientation", ("sexual_orientation",)),
    "genderIdentity": ("Use of gender identity", ("gender_identity",)),
    "sex": ("Use of sex", ("sex",)),
    "dateOfBirth": ("Use of date of birth (age)", ("age_years", "birth_date")),
    "socialDeterminants": ("Use of social determinants of health data", ("social_determinants", "sdoh")),
    "healthStatusAssessments": ("Use of health status assessments data", ("health_status", "assessments")),
}
CITED_KINDS = frozenset({"textbook", "guideline", "systematic-review", "point-of-care", "narrative-review"})


def referenced_predicates(pack: KnowledgePack) -> set[str]:
    names: set[str] = set()
    for rule in pack.rules:
        names.update(rule.all_of, rule.any_of, rule.none_of)
    for alert in pack.alerts:
        names.update(alert.trigger)
    for therapy in pack.therapies.values():
        names.update(therapy.targets)
        for caution in therapy.cautions:
            names.update(caution.when)
    return names


class _Recorder(FactView):
    """A patient view that notes every public attribute read."""

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("_"):
            object.__getattribute__(self, "_reads").add(name)
        return object.__getattribute__(self, name)


def _probes() -> list[_Recorder]:
    out = []
    for age, sex, pregnant in itertools.product(
        (None, 0.05, 5.0, 30.0, 70.0), ("male", "female"), (None, True)
    ):
        view = _Recorder(as_of=dt.date(2026, 1, 1), age_years=age, sex=sex, pregnant=pregnant)
        object.__setattr__(view, "_reads", set())
        if age is not None:
            view.demographics["age"] = view.add(Fact("age", "demographics", "Age", f"{age} years"))
        view.demographics["sex"] = view.add(Fact("sex", "demographics", "Sex", sex))
        if pregnant is not None:
            view.demographics["pregnancy"] = view.add(
                Fact("pregnancy", "demographics", "Pregnancy", "pregnant")
            )
        object.__setattr__(view, "_reads", set())  # forget the reads made while building the probe
        out.append(view)
    return out


def attributes_read(predicate: str) -> set[str]:
    reads: set[str] = set()
    for view in _probes():
        PREDICATES[predicate](view)
        reads |= object.__getattribute__(view, "_reads")
    return reads


@cache
def _uses_for(pack_hash: str, names: frozenset[str]) -> dict[str, dict[str, Any]]:
    del pack_hash  # part of the cache key only
    view_fields = {f.name for f in fields(FactView)}
    reads = {name: attributes_read(name) for name in sorted(names) if name in PREDICATES}
    uses: dict[str, dict[str, Any]] = {}
    for key, (label, carriers) in CATEGORIES.items():
        by = sorted(name for name, attrs in reads.items() if attrs & set(carriers))
        entry: dict[str, Any] = {"label": label, "used": bool(by)}
        if by:
            entry["predicates"] = by
        elif not set(carriers) & view_fields:
            entry["note"] = "the engine's patient model has no attribute for this; it cannot be used"
        uses[key] = entry
    return uses


def compute_uses(pack: KnowledgePack) -> dict[str, dict[str, Any]]:
    return _uses_for(pack.content_hash, frozenset(referenced_predicates(pack)))


def source_attributes(spec: ServiceSpec, pack: KnowledgePack, funding: str, base_url: str) -> dict[str, Any]:
    meta = pack.meta
    cited = [s for s in pack.sources.values() if s.kind.value in CITED_KINDS]
    return {
        "service": spec.id,
        "hook": spec.hook,
        "interventionType": "evidence-based",
        "bibliographicCitation": [
            {"id": s.id, "citation": s.citation}
            | ({"pmid": s.identifiers.pmid} if s.identifiers.pmid else {})
            | ({"doi": s.identifiers.doi} if s.identifiers.doi else {})
            for s in cited
        ],
        "developer": meta.publisher,
        "fundingSource": funding,
        "release": {
            "knowledgePack": meta.id,
            "version": meta.version,
            "lastReviewed": meta.last_reviewed,
            "contentHash": pack.content_hash,
        },
        "gradingSystem": meta.grading_system,
        "uses": compute_uses(pack),
        "usesDerivation": (
            "computed by running every predicate the pack's rules, alerts, cautions and targets refer to "
            "over probe patients and recording the patient attributes each reads"
        ),
        "knowledgeUrl": f"{base_url}/pack",
    }
