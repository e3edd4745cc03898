"""One picked patient's resources → the same assessment ``calcinosis assess`` gives for that patient.

The resources are put in a collection Bundle and read by the project's one FHIR reader
(:func:`calcinosis.fhir.facts.case_from_fhir`), then assessed by :func:`calcinosis.engine.assess`, exactly
as ``calcinosis assess`` does with a Bundle file. A patient the reader refuses (e.g. a unit it does not
know, two Patient resources) is set aside with the reader's message, never half-assessed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import orjson

from calcinosis.engine import Assessment, Stance, WorkupStatus, assess
from calcinosis.errors import InputError
from calcinosis.fhir.facts import case_from_fhir
from calcinosis.pack import KnowledgePack
from calcinosis.patient.models import InputIssue
from calcinosis.screen.ndjson import bundle_from_lines


@dataclass(frozen=True)
class PatientResult:
    """What one patient gives: an NDJSON line and a table row, or the reason it was set aside."""

    patient_id: str
    line: bytes | None = None
    row: dict[str, Any] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    bundle: bytes | None = None


def summary_row(patient_id: str, a: Assessment, resources: int) -> tuple[dict[str, Any], dict[str, str]]:
    """The main fields of an assessment (one Parquet row) and display names for the ids it holds."""
    labels: dict[str, str] = {}
    for w in a.workup:
        labels[f"workup:{w.id}"] = w.name
    for t in a.therapies:
        labels[f"therapy:{t.id}"] = t.name
    for al in a.alerts:
        labels[f"alert:{al.id}"] = al.text
    labels[f"subtype:{a.subtype.code.value}"] = a.subtype.name
    for r in a.risk_profile:
        labels[f"risk:{r.id}"] = f"{r.id} (risk of {', '.join(x.value for x in r.subtypes)})"

    def therapies(stance: Stance) -> list[str]:
        return [t.id for t in a.therapies if t.stance is stance]

    top = min(a.therapies, key=lambda t: t.rank) if a.therapies else None
    row = {
        "patient_id": patient_id,
        "resources": resources,
        "subtype": a.subtype.code.value,
        "subtype_variant": a.subtype.variant,
        "subtype_confidence": a.subtype.confidence,
        "subtype_alternatives": [alt.code.value for alt in a.subtype.alternatives],
        "workup_missing": [w.id for w in a.workup if w.status is WorkupStatus.MISSING],
        "workup_abnormal": [w.id for w in a.workup if w.status is WorkupStatus.ABNORMAL],
        "therapies_recommended": therapies(Stance.RECOMMENDED),
        "therapies_consider": therapies(Stance.CONSIDER),
        "therapies_caution": therapies(Stance.USE_WITH_CAUTION),
        "therapies_avoid": therapies(Stance.AVOID),
        "top_therapy": top.id if top else None,
        "alerts": [al.id for al in a.alerts],
        "alerts_critical": sum(1 for al in a.alerts if al.severity == "critical"),
        "input_issues": len(a.input_issues),
        "lesion_facts": sum(1 for f in a.facts_used if f.kind == "lesion"),
        "calcinosis_recorded": a.calcinosis.recorded,
        "risks": [r.id for r in a.risk_profile],
    }
    return row, labels


def assess_patient(
    patient_id: str,
    resources: tuple[bytes, ...],
    pack: KnowledgePack,
    as_of: dt.date | None,
    export_issues: tuple[InputIssue, ...] = (),
) -> PatientResult:
    """Read and assess one patient; input errors become a set-aside result, other errors propagate.

    ``export_issues`` (parts of the export not read) are added to the patient's own input issues."""
    bundle = bundle_from_lines(resources)
    try:
        case, issues = case_from_fhir(orjson.loads(bundle), as_of=as_of)
        assessment = assess(case, pack, issues=[*issues, *export_issues], as_of=as_of)
    except InputError as exc:
        return PatientResult(patient_id=patient_id, error=str(exc), bundle=bundle)
    # The same JSON as `calcinosis assess --format json` (by meaning); pydantic's own serializer is ~3x faster.
    body = assessment.__pydantic_serializer__.to_json(assessment)
    line = b'{"patient_id":' + orjson.dumps(patient_id) + b',"assessment":' + body + b"}"
    row, labels = summary_row(patient_id, assessment, len(resources))
    return PatientResult(patient_id=patient_id, line=line, row=row, labels=labels)
