"""Assessment → FHIR R4 guidance: a collection Bundle holding

- a ``GuidanceResponse`` (status success) pointing at the pack's PlanDefinition, its ``result`` (the
  RequestGroup), its ``outputParameters`` (subtype call, knowledge version) and, when the input had issues,
  its ``evaluationMessage`` (an OperationOutcome);
- a ``RequestGroup`` whose actions are the missing work-up and the ranked therapy options, each with a
  priority, its stance as a code, the evidence level and its citations as ``documentation``;
- one ``DetectedIssue`` per alert and per caution that applies to this patient.

Priority follows the stance: recommended and consider → ``routine``; use-with-caution and avoid →
``urgent`` (CDS Hooks encoders turn ``urgent`` into a warning card). Ids are derived from the assessment's
content, so the same assessment always gives the same Bundle.
"""

from __future__ import annotations

from typing import Any

from calcinosis.engine.results import (
    Alert,
    Assessment,
    Citation,
    FactUsed,
    Stance,
    TherapyOption,
    WorkupEntry,
    WorkupStatus,
)
from calcinosis.fhir.canonical import (
    ACTION_TYPE,
    CS_ITEM,
    CS_STANCE,
    CS_SUBTYPE,
    activity_url,
    coding,
    plan_url,
    quality_extension,
    related_artifact,
    stable_uuid,
)
from calcinosis.fhir.outcome import issues_to_outcome
from calcinosis.pack.models import AlertSeverity, CautionSeverity

# FHIR codes for the engine's vocabularies: RequestGroup.action.priority (request-priority) and
# DetectedIssue.severity (detectedissue-severity).
PRIORITY: dict[Stance, str] = {
    Stance.RECOMMENDED: "routine",
    Stance.CONSIDER: "routine",
    Stance.USE_WITH_CAUTION: "urgent",
    Stance.AVOID: "urgent",
}
ALERT_SEVERITY: dict[AlertSeverity, str] = {
    AlertSeverity.CRITICAL: "high",
    AlertSeverity.WARNING: "moderate",
    AlertSeverity.INFO: "low",
}
CAUTION_SEVERITY: dict[CautionSeverity, str] = {
    CautionSeverity.CONTRAINDICATION: "high",
    CautionSeverity.WARNING: "moderate",
    CautionSeverity.MONITOR: "low",
    CautionSeverity.INFO: "low",
}


def documentation(sources: tuple[Citation, ...]) -> list[dict[str, Any]]:
    return [
        related_artifact(c.short, c.citation, pmid=c.pmid, doi=c.doi, link=c.url, section=c.section)
        for c in sources
    ]


def _workup_action(item: WorkupEntry) -> dict[str, Any]:
    action: dict[str, Any] = {
        "id": f"workup-{item.id}",
        "title": item.name,
        "description": item.why,
        "priority": "routine",
        "code": [{"coding": [coding(CS_ITEM, item.id, item.name)], "text": item.kind}],
        "type": {"coding": [{"system": ACTION_TYPE, "code": "create"}]},
    }
    if item.basis.sources:
        action["documentation"] = documentation(item.basis.sources)
    return action


def _therapy_action(option: TherapyOption) -> dict[str, Any]:
    lines = [option.fit, *option.rationale]
    if option.already_receiving:
        lines.append("The patient already receives this therapy.")
    docs = [{"type": "derived-from", "resource": activity_url(option.id), "label": "Therapy definition"}]
    docs += documentation(option.basis.sources)
    action: dict[str, Any] = {
        "id": f"therapy-{option.id}",
        "prefix": str(option.rank),
        "title": option.name,
        "description": " ".join(s.strip() for s in lines if s and s.strip()),
        "priority": PRIORITY[option.stance],
        "code": [{"coding": [coding(CS_STANCE, option.stance.value, option.stance.value.replace("-", " "))]}],
        "documentation": docs,
        "extension": [quality_extension(option.evidence_level.value if option.evidence_level else None)],
    }
    if option.line:
        action["textEquivalent"] = f"Line of therapy stated by a source: {option.line}"
    return action


def _request_group(a: Assessment, rg_id: str, subject: dict[str, Any] | None) -> dict[str, Any]:
    missing = [w for w in a.workup if w.status is WorkupStatus.MISSING]
    groups: list[dict[str, Any]] = []
    if missing:
        groups.append(
            {
                "id": "missing-workup",
                "title": "Missing work-up",
                "description": "Investigations the sources advise here that are not yet on record.",
                "groupingBehavior": "logical-group",
                "selectionBehavior": "all",
                "action": [_workup_action(w) for w in missing],
            }
        )
    if a.therapies:
        groups.append(
            {
                "id": "therapy-options",
                "title": "Therapy options, ranked",
                "description": "Options in the order the engine ranks them for this patient; choose any.",
                "groupingBehavior": "logical-group",
                "selectionBehavior": "any",
                "action": [_therapy_action(t) for t in a.therapies],
            }
        )
    rg: dict[str, Any] = {
        "resourceType": "RequestGroup",
        "id": rg_id,
        "instantiatesCanonical": [plan_url(a.knowledge.pack)],
        "status": "draft",
        "intent": "proposal",
        "note": [{"text": a.disclaimer}],
    }
    if subject:
        rg["subject"] = subject
    if groups:
        rg["action"] = groups
    return rg


def _evidence(fact_ids: tuple[str, ...], facts: dict[str, FactUsed]) -> list[dict[str, Any]]:
    texts = []
    for fid in fact_ids:
        f = facts.get(fid)
        if f is not None:
            shown = f"{f.text}: {f.value}" if f.value else f.text
            texts.append({"text": f"{shown} ({f.date})" if f.date else shown})
    return [{"code": texts}] if texts else []


def _issue(
    issue_id: str, code: dict[str, Any], severity: str, detail: str, subject: dict[str, Any] | None
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "id": issue_id,
        "status": "final",
        "code": code,
        "severity": severity,
        "detail": detail,
    }
    if subject:
        res["patient"] = subject
    return res


def _alert_issue(
    alert: Alert, seed: str, subject: dict[str, Any] | None, facts: dict[str, FactUsed]
) -> dict[str, Any]:
    res = _issue(
        stable_uuid(seed, "alert", alert.id),
        {"coding": [coding(CS_ITEM, alert.id)], "text": "Context alert"},
        ALERT_SEVERITY[alert.severity],
        alert.text,
        subject,
    )
    if alert.therapies:
        res["implicated"] = [{"reference": activity_url(t), "display": t} for t in alert.therapies]
    if ev := _evidence(alert.basis.facts, facts):
        res["evidence"] = ev
    if alert.basis.sources:
        first = documentation(alert.basis.sources[:1])[0]
        if "url" in first:
            res["reference"] = first["url"]
    return res


def _caution_issues(option: TherapyOption, seed: str, subject: dict[str, Any] | None) -> list[dict[str, Any]]:
    out = []
    for c in option.cautions:
        if not c.patient_specific:
            continue
        res = _issue(
            stable_uuid(seed, "caution", option.id, c.id),
            {"coding": [coding(CS_ITEM, c.id)], "text": f"Caution for {option.name}"},
            CAUTION_SEVERITY[c.severity],
            c.text,
            subject,
        )
        res["implicated"] = [{"reference": activity_url(option.id), "display": option.name}]
        if c.triggered_by:
            res["evidence"] = [{"code": [{"text": t} for t in c.triggered_by]}]
        out.append(res)
    return out


def _parameters(a: Assessment, params_id: str) -> dict[str, Any]:
    s = a.subtype
    params: list[dict[str, Any]] = [
        {"name": "subtype", "valueCoding": coding(CS_SUBTYPE, s.code.value, s.name)},
        {"name": "confidence", "valueCode": s.confidence},
    ]
    if s.variant:
        params.append({"name": "variant", "valueCoding": coding(CS_SUBTYPE, s.variant)})
    params += [{"name": "reason", "valueString": r.text} for r in s.reasons]
    for alt in s.alternatives:
        parts: list[dict[str, Any]] = [{"name": "confidence", "valueCode": alt.confidence}]
        if alt.variant:
            parts.append({"name": "variant", "valueCoding": coding(CS_SUBTYPE, alt.variant)})
        params.append(
            {"name": "alternative", "valueCoding": coding(CS_SUBTYPE, alt.code.value), "part": parts}
        )
    params.append({"name": "calcinosis-recorded", "valueBoolean": a.calcinosis.recorded})
    for c in a.differential:
        cparts: list[dict[str, Any]] = [
            {"name": "rank", "valueInteger": c.rank},
            {"name": "score", "valueInteger": c.score},
            {"name": "confidence", "valueCode": c.confidence},
        ]
        if c.variant:
            cparts.append({"name": "variant", "valueCoding": coding(CS_SUBTYPE, c.variant)})
        cparts += [{"name": "supporting", "valueString": f.text} for f in c.supporting]
        cparts += [{"name": "opposing", "valueString": f.text} for f in c.opposing]
        params.append({"name": "candidate", "valueCoding": coding(CS_SUBTYPE, c.code.value), "part": cparts})
    if a.next_test is not None:
        params.append({"name": "next-test", "valueString": f"{a.next_test.name}: {a.next_test.why}"})
    params += [{"name": "risk", "valueString": r.watch_for} for r in a.risk_profile]
    k = a.knowledge
    params += [
        {"name": "knowledge-pack", "valueCanonical": f"{plan_url(k.pack)}|{k.version}"},
        {"name": "knowledge-hash", "valueString": k.content_hash},
        {"name": "last-reviewed", "valueDate": k.last_reviewed},
        {"name": "grading-system", "valueString": k.grading_system},
        {"name": "schema-version", "valueString": a.schema_version},
    ]
    return {"resourceType": "Parameters", "id": params_id, "parameter": params}


def assessment_to_bundle(assessment: Assessment, case_id: str | None = None) -> dict[str, Any]:
    """The assessment as a FHIR R4 collection Bundle (GuidanceResponse, RequestGroup, DetectedIssue ...)."""
    a = assessment
    patient_id = case_id or a.patient_id
    seed = stable_uuid(a.model_dump_json(), patient_id or "")
    subject = {"reference": f"Patient/{patient_id}"} if patient_id else None
    ids = {role: stable_uuid(seed, role) for role in ("bundle", "guidance", "request", "params", "outcome")}
    facts = {f.id: f for f in a.facts_used}
    rg = _request_group(a, ids["request"], subject)
    params = _parameters(a, ids["params"])
    guidance: dict[str, Any] = {
        "resourceType": "GuidanceResponse",
        "id": ids["guidance"],
        "requestIdentifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{seed}"},
        "moduleCanonical": f"{plan_url(a.knowledge.pack)}|{a.knowledge.version}",
        "status": "success",
        "note": [{"text": a.disclaimer}],
        "outputParameters": {"reference": f"urn:uuid:{ids['params']}"},
        "result": {"reference": f"urn:uuid:{ids['request']}"},
    }
    if subject:
        guidance["subject"] = subject
    resources: list[dict[str, Any]] = [guidance, rg, params]
    if a.input_issues:
        resources.append(issues_to_outcome(a.input_issues, ids["outcome"]))
        guidance["evaluationMessage"] = [{"reference": f"urn:uuid:{ids['outcome']}"}]
    resources += [_alert_issue(al, seed, subject, facts) for al in a.alerts]
    for option in a.therapies:
        resources += _caution_issues(option, seed, subject)
    return {
        "resourceType": "Bundle",
        "id": ids["bundle"],
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }
