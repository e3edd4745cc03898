"""Assessments as FHIR guidance: valid R4 resources that say what the assessment says."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from calcinosis.engine import Assessment, assess
from calcinosis.fhir.guidance import assessment_to_bundle
from calcinosis.patient.case_json import parse_case
from tests.conftest import CASES, expectations, load_case
from tests.fhir.validate import validate_round_trip

NAMES = sorted(expectations())


def assessment(name: str) -> Assessment:
    case, issues = parse_case(load_case(name))
    return assess(case, issues=issues)


def by_type(bundle: dict[str, Any], rt: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rt]


@pytest.mark.parametrize("name", NAMES)
def test_guidance_bundle_validates_and_round_trips_when(name: str) -> None:
    bundle = assessment_to_bundle(assessment(name))
    validate_round_trip(bundle)
    for entry in bundle["entry"]:
        validate_round_trip(entry["resource"])
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"


def test_guidance_response_points_to_the_plan_the_request_group_and_the_issues() -> None:
    a = assessment("calciphylaxis-dialysis-warfarin")
    bundle = assessment_to_bundle(a)
    (gr,) = by_type(bundle, "GuidanceResponse")
    (rg,) = by_type(bundle, "RequestGroup")
    assert gr["status"] == "success"
    assert gr["moduleCanonical"].endswith(f"/PlanDefinition/{a.knowledge.pack}|{a.knowledge.version}")
    assert gr["result"]["reference"] == f"urn:uuid:{rg['id']}"
    assert gr["subject"] == {"reference": "Patient/calciphylaxis-dialysis-warfarin"}
    params = {p["name"]: p for p in by_type(bundle, "Parameters")[0]["parameter"]}
    assert params["subtype"]["valueCoding"]["code"] == a.subtype.code.value == "calciphylaxis"


def test_request_group_lists_missing_workup_and_therapies_in_rank_order() -> None:
    a = assessment("lcssc-circumscripta-fingertips")
    (rg,) = by_type(assessment_to_bundle(a), "RequestGroup")
    groups = {g["id"]: g for g in rg["action"]}
    therapies = groups["therapy-options"]["action"]
    assert [t["title"] for t in therapies] == [t.name for t in a.therapies]
    assert [t["prefix"] for t in therapies] == [str(t.rank) for t in a.therapies]
    missing = [w.name for w in a.workup if w.status.value == "missing"]
    assert [w["title"] for w in groups.get("missing-workup", {}).get("action", [])] == missing


def test_therapy_priority_follows_stance_and_citations_carry_identifiers() -> None:
    a = assessment("calciphylaxis-dialysis-warfarin")
    (rg,) = by_type(assessment_to_bundle(a), "RequestGroup")
    actions = {x["id"]: x for g in rg["action"] for x in g["action"]}
    warfarin = actions["therapy-low-dose-warfarin"]
    assert warfarin["code"][0]["coding"][0]["code"] == "avoid" and warfarin["priority"] == "urgent"
    cited = [d for x in actions.values() for d in x.get("documentation", []) if d["type"] == "citation"]
    pmids = {c.pmid for t in a.therapies for c in t.basis.sources if c.pmid}
    assert pmids
    urls = {d.get("url") for d in cited}
    assert {f"https://pubmed.ncbi.nlm.nih.gov/{p}/" for p in pmids} <= urls


def test_alerts_and_patient_specific_cautions_become_detected_issues() -> None:
    a = assessment("ssc-pregnant-inflamed-nodule")
    issues = by_type(assessment_to_bundle(a), "DetectedIssue")
    cautions = [c for t in a.therapies for c in t.cautions if c.patient_specific]
    assert len(issues) == len(a.alerts) + len(cautions) > 0
    assert {i["detail"] for i in issues} == {x.text for x in (*a.alerts, *cautions)}
    assert all(i["severity"] in {"high", "moderate", "low"} for i in issues)


def test_input_issues_are_returned_as_an_operation_outcome() -> None:
    a = assessment("lcssc-circumscripta-fingertips")
    bundle = assessment_to_bundle(a)
    (oo,) = by_type(bundle, "OperationOutcome")
    assert len(oo["issue"]) == len(a.input_issues) > 0
    (gr,) = by_type(bundle, "GuidanceResponse")
    assert gr["evaluationMessage"][0]["reference"] == f"urn:uuid:{oo['id']}"


def test_same_assessment_gives_the_same_bundle() -> None:
    assert assessment_to_bundle(assessment("micc-down-syndrome")) == assessment_to_bundle(
        assessment("micc-down-syndrome")
    )


def test_cli_assess_format_fhir_emits_the_bundle() -> None:
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "calcinosis",
            "assess",
            str(CASES / "idiopathic-scrotal-nodules.json"),
            "-f",
            "fhir",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    bundle = json.loads(r.stdout)
    validate_round_trip(bundle)
    assert bundle["type"] == "collection" and by_type(bundle, "GuidanceResponse")
