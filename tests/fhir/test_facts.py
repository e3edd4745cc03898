"""FHIR R4 input becomes patient facts; what is not understood is reported, never dropped silently."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from calcinosis.fhir.facts import case_from_fhir
from calcinosis.patient.models import Case, InputIssue
from tests.fhir.fhirdata import (
    ICD10CM,
    LOINC,
    RXNORM,
    SNOMED,
    bundle,
    condition,
    lab,
    med,
    patient,
    status,
    subject,
)

AS_OF = date(2026, 10, 15)


def read(*resources: dict[str, Any], **kw: Any) -> tuple[Case, list[InputIssue]]:
    return case_from_fhir(bundle(patient(), *resources, **kw), as_of=AS_OF)


def messages(issues: list[InputIssue]) -> str:
    return "\n".join(f"{i.location}: {i.message}" for i in issues)


@pytest.mark.parametrize("kind", ["collection", "searchset", "transaction", "batch"])
def test_bundle_of_any_type_is_read_when_given(kind: str) -> None:
    case, _ = read(condition("c1", "M34.1"), kind=kind)
    assert case.id == "p1" and case.conditions[0].concept == "limited-systemic-sclerosis"


def test_entries_without_full_url_resolve_by_type_and_id() -> None:
    case, issues = read(condition("c1", "L94.2", bodySite=[{"text": "fingertips"}]), urls=False)
    assert case.lesions[0].site == "fingertips" and not [i for i in issues if i.severity == "warning"]


def test_single_resource_is_read_when_not_in_a_bundle() -> None:
    case, _ = case_from_fhir(condition("c1", "E21.0"), as_of=AS_OF)
    assert case.conditions[0].concept == "primary-hyperparathyroidism" and case.age_years is None


def test_age_and_sex_come_from_the_patient_when_birth_date_given() -> None:
    case, _ = read()
    assert case.sex.value == "female" and case.birth_date == date(1970, 1, 15)
    assert case.age_years == pytest.approx(56.75, abs=0.01)


def test_bundle_timestamp_is_the_assessment_date_when_none_is_given() -> None:
    case, _ = case_from_fhir(bundle(patient()))
    assert case.as_of == date(2026, 10, 15)


@pytest.mark.parametrize(
    ("code", "system", "concept"),
    [
        ("L94.2", ICD10CM, "calcinosis-cutis"),
        ("M3310", ICD10CM, "dermatomyositis"),  # no dot, family M33.1
        ("N18.32", ICD10CM, "ckd"),
        ("N18.6", ICD10CM, "esrd"),
        ("M34.1", "http://hl7.org/fhir/sid/icd-10", "limited-systemic-sclerosis"),
        ("89155008", SNOMED, "systemic-sclerosis"),
        ("46177005", "urn:oid:2.16.840.1.113883.6.96", "esrd"),
    ],
)
def test_condition_codes_map_to_concepts_when_in_the_code_sets(code: str, system: str, concept: str) -> None:
    case, _ = read(condition("c1", code, system=system))
    assert case.conditions[0].concept == concept


def test_condition_text_is_read_when_the_code_is_unknown() -> None:
    case, issues = read(condition("c1", "ZZZ", text="Juvenile dermatomyositis"))
    assert case.conditions[0].concept == "juvenile-dermatomyositis"
    assert "not recognised" not in messages(issues)


def test_unrecognised_condition_is_kept_as_text_and_reported() -> None:
    case, issues = read(condition("c1", "I10", text="Essential hypertension"))
    assert case.conditions[0].concept is None and case.conditions[0].text == "Essential hypertension"
    assert "Condition/c1).code: condition not recognised" in messages(issues)


@pytest.mark.parametrize("verification", ["refuted", "entered-in-error"])
def test_condition_is_not_used_when_refuted_or_entered_in_error(verification: str) -> None:
    case, issues = read(condition("c1", "M34.1", verificationStatus=status("ver-status", verification)))
    assert case.conditions == ()
    assert f"condition is {verification}" in messages(issues)


@pytest.mark.parametrize("clinical", ["resolved", "inactive", "remission"])
def test_condition_keeps_its_clinical_status_when_not_active(clinical: str) -> None:
    case, _ = read(condition("c1", "M32.9", clinicalStatus=status("clinical", clinical)))
    assert case.conditions[0].status == clinical


def test_provisional_condition_keeps_its_verification() -> None:
    case, _ = read(condition("c1", "M34.0", verificationStatus=status("ver-status", "provisional")))
    assert case.conditions[0].verification == "provisional"


def test_lesion_comes_from_body_site_and_notes_when_calcinosis_is_recorded() -> None:
    note = [{"text": "3 lesions, largest 6 mm; painful, ulcerated, chalky discharge"}]
    case, _ = read(condition("c1", "L94.2", bodySite=[{"text": "fingertips"}], note=note))
    lesion = case.lesions[0]
    assert (lesion.site, lesion.count, lesion.size_mm) == ("fingertips", 3, 6.0)
    assert lesion.features == ("painful", "ulcerated", "chalky discharge")


def test_skin_finding_becomes_a_lesion_not_a_condition() -> None:
    finding = condition(
        "c1", text="Retiform purpura", bodySite=[{"text": "thighs"}], note=[{"text": "2 cm, necrotic"}]
    )
    case, _ = read(finding)
    assert case.conditions == () and case.lesions[0].size_mm == 20.0 and case.lesions[0].site == "thighs"


def test_disease_activity_is_read_from_the_condition_note() -> None:
    case, _ = read(condition("c1", "M33.00", note=[{"text": "Active disease, rising CK"}]))
    assert case.conditions[0].disease_active is True


def test_event_conditions_go_to_history_with_their_site() -> None:
    text = "Calcium gluconate extravasation at the left hand"
    case, _ = read(condition("c1", text=text, onsetDateTime="2026-03-02", bodySite=[{"text": "left hand"}]))
    event = case.history[0]
    assert (event.concept, event.date, event.site) == (
        "iv-calcium-extravasation",
        date(2026, 3, 2),
        "left hand",
    )


@pytest.mark.parametrize(
    ("loinc", "value", "unit", "analyte", "shown_unit"),
    [
        ("17861-6", 9.3, "mg/dL", "calcium", "mg/dL"),
        ("2000-8", 2.3, "mmol/L", "calcium", "mmol/L"),
        ("1751-7", 29, "g/L", "albumin", "g/L"),
        ("14879-1", 2.1, "mmol/L", "phosphate", "mmol/L"),
        ("2731-8", 48, "pmol/L", "pth", "pmol/L"),
        ("98979-8", 88, "mL/min/{1.73_m2}", "egfr", "mL/min/{1.73_m2}"),
        ("14682-9", 38, "µmol/L", "creatinine", "µmol/L"),
        ("6874-2", 250, "mg/(24.h)", "urine-calcium", "mg/24h"),
    ],
)
def test_labs_are_read_by_loinc_with_us_or_si_units(
    loinc: str, value: float, unit: str, analyte: str, shown_unit: str
) -> None:
    case, _ = read(lab("o1", loinc, value, unit))
    got = case.labs[0]
    assert (got.analyte, got.loinc, got.value, got.unit) == (analyte, loinc, float(value), shown_unit)


def test_every_lab_result_is_kept_so_the_engine_can_choose_the_latest() -> None:
    case, _ = read(
        lab("o1", "17861-6", 9.0, "mg/dL", "2026-01-01"), lab("o2", "17861-6", 10.9, "mg/dL", "2026-09-01")
    )
    assert [(x.value, x.date) for x in case.labs] == [(9.0, date(2026, 1, 1)), (10.9, date(2026, 9, 1))]


def test_reference_range_and_interpretation_are_kept() -> None:
    interp = [
        {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "H"}
            ]
        }
    ]
    rng = [{"low": {"value": 2.5}, "high": {"value": 4.5}}]
    case, _ = read(lab("o1", "2777-1", 8.2, "mg/dL", interpretation=interp, referenceRange=rng))
    assert (case.labs[0].interpretation, case.labs[0].ref_low, case.labs[0].ref_high) == ("H", 2.5, 4.5)


def test_lab_is_recognised_by_name_when_its_code_is_unknown() -> None:
    obs = lab("o1", "99999-9", 41, "pg/mL")
    obs["code"] = {"coding": [{"system": "http://local.lab", "code": "PTH1"}], "text": "Parathyroid hormone"}
    case, issues = read(obs)
    assert case.labs[0].analyte == "pth" and "recognised by its name" in messages(issues)


def test_qualitative_result_is_kept_as_text_with_its_interpretation() -> None:
    obs = {"resourceType": "Observation", "id": "o1", "status": "final", **subject(),
           "code": {"coding": [{"system": LOINC, "code": "2106-3"}]}, "valueString": "Negative"}  # fmt: skip
    case, _ = read(obs)
    assert (case.labs[0].analyte, case.labs[0].value_text, case.labs[0].interpretation) == (
        "pregnancy-test",
        "Negative",
        "NEG",
    )


def test_panel_counts_as_done_when_it_has_no_value_of_its_own() -> None:
    obs = {"resourceType": "Observation", "id": "o1", "status": "final", **subject(),
           "code": {"coding": [{"system": LOINC, "code": "58410-2"}]}, "hasMember": []}  # fmt: skip
    case, _ = read(obs)
    assert case.labs[0].analyte == "cbc" and case.labs[0].value_text


def test_lab_without_result_is_reported_and_not_used() -> None:
    obs = lab("o1", "17861-6", 1, "mg/dL")
    del obs["valueQuantity"]
    obs["dataAbsentReason"] = {"text": "specimen haemolysed"}
    case, issues = read(obs)
    assert case.labs == () and "specimen haemolysed" in messages(issues)


@pytest.mark.parametrize(("answer", "pregnant"), [("77386006", True), ("60001007", False)])
def test_pregnancy_status_observation_sets_pregnant(answer: str, pregnant: bool) -> None:
    obs = {"resourceType": "Observation", "id": "o1", "status": "final", **subject(),
           "code": {"coding": [{"system": LOINC, "code": "82810-3"}]},
           "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": answer}]}}  # fmt: skip
    case, _ = read(obs)
    assert case.pregnant is pregnant


def test_latest_pregnancy_record_wins_when_there_are_several() -> None:
    def obs(rid: str, answer: str, day: str) -> dict[str, Any]:
        return {"resourceType": "Observation", "id": rid, "status": "final", **subject(), "effectiveDateTime": day,
                "code": {"coding": [{"system": LOINC, "code": "82810-3"}]},
                "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": answer}]}}  # fmt: skip

    case, _ = read(obs("o2", "60001007", "2026-09-01"), obs("o1", "77386006", "2025-01-01"))
    assert case.pregnant is False


def test_biopsy_result_becomes_a_history_event_with_the_finding() -> None:
    obs = {"resourceType": "Observation", "id": "o1", "status": "final", **subject(),
           "code": {"text": "Skin biopsy"}, "valueString": "Von Kossa positive; arteriolar calcification",
           "effectiveDateTime": "2026-09-01"}  # fmt: skip
    case, _ = read(obs)
    assert {e.concept for e in case.history} == {"biopsy-arteriolar-calcification", "biopsy-calcification"}
    assert "Von Kossa" in (case.history[0].result or "")


def test_medications_are_read_by_rxnorm_then_by_text() -> None:
    case, _ = read(
        med("m1", "diltiazem", rx="3443"), med("m2", "Calcitriol 0.25 mcg", kind="MedicationStatement")
    )
    assert [m.concept for m in case.medications] == ["diltiazem", "active-vitamin-d"]


def test_medication_reference_is_resolved_in_the_bundle() -> None:
    medication = {
        "resourceType": "Medication",
        "id": "x1",
        "code": {"coding": [{"system": RXNORM, "code": "11289"}]},
    }
    request = {"resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order", **subject(),
               "medicationReference": {"reference": "Medication/x1"}}  # fmt: skip
    case, _ = read(medication, request)
    assert case.medications[0].concept == "warfarin"


def test_contained_medication_is_resolved() -> None:
    request = {"resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order", **subject(),
               "contained": [{"resourceType": "Medication", "id": "c", "code": {"text": "colchicine"}}],
               "medicationReference": {"reference": "#c"}}  # fmt: skip
    case, _ = read(request)
    assert case.medications[0].concept == "colchicine"


def test_unresolved_medication_reference_is_reported_and_its_display_read() -> None:
    request = {"resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order", **subject(),
               "medicationReference": {"reference": "Medication/gone", "display": "Warfarin 3 mg"}}  # fmt: skip
    case, issues = read(request)
    assert case.medications[0].concept == "warfarin" and "does not resolve" in messages(issues)


@pytest.mark.parametrize(
    ("kind", "fhir_status", "kept"),
    [
        ("MedicationRequest", "on-hold", "on-hold"),
        ("MedicationRequest", "cancelled", None),
        ("MedicationRequest", "entered-in-error", None),
        ("MedicationStatement", "intended", "planned"),
        ("MedicationStatement", "not-taken", None),
        ("MedicationStatement", "completed", "completed"),
    ],
)
def test_medication_status_is_mapped_or_the_record_dropped_with_an_issue(
    kind: str, fhir_status: str, kept: str | None
) -> None:
    case, issues = read(med("m1", "colchicine", kind=kind, status=fhir_status))
    if kept is None:
        assert case.medications == () and fhir_status in messages(issues)
    else:
        assert case.medications[0].status == kept


def test_dialysis_procedure_becomes_history_when_in_progress() -> None:
    proc = {"resourceType": "Procedure", "id": "pr1", "status": "in-progress", **subject(),
            "code": {"coding": [{"system": SNOMED, "code": "302497006"}]},
            "performedPeriod": {"start": "2019-07-01"}}  # fmt: skip
    case, _ = read(proc)
    assert (case.history[0].concept, case.history[0].date) == ("haemodialysis", date(2019, 7, 1))


def test_procedure_not_done_is_reported_and_not_used() -> None:
    proc = {
        "resourceType": "Procedure",
        "id": "pr1",
        "status": "not-done",
        **subject(),
        "code": {"text": "Parathyroidectomy"},
    }
    case, issues = read(proc)
    assert case.history == () and "not-done" in messages(issues)


def _allergy_status(kind: str, code: str) -> dict[str, Any]:
    system = f"http://terminology.hl7.org/CodeSystem/allergyintolerance-{kind}"
    return {"coding": [{"system": system, "code": code}]}


def _allergy(aid: str, text: str, **kw: Any) -> dict[str, Any]:
    return {"resourceType": "AllergyIntolerance", "id": aid, "patient": {"reference": "Patient/p1"},
            "code": {"text": text}, **kw}  # fmt: skip


def test_an_allergy_is_read_with_its_status_criticality_and_reactions() -> None:
    allergy = _allergy(
        "a1",
        "Minocycline",
        clinicalStatus=_allergy_status("clinical", "active"),
        criticality="high",
        recordedDate="2025-03-02",
        reaction=[{"manifestation": [{"text": "Hives"}, {"text": "Wheeze"}]}],
        lastOccurrence="2025-03-01",
    )
    case, issues = read(allergy)
    (a,) = case.allergies
    assert (a.id, a.substance, a.status, a.criticality) == (
        "AllergyIntolerance/a1",
        "Minocycline",
        "active",
        "high",
    )
    assert a.reaction == "Hives, Wheeze" and a.recorded == date(2025, 3, 2)
    assert "element(s) not used: lastOccurrence" in messages(issues)


@pytest.mark.parametrize("verification", ["refuted", "entered-in-error"])
def test_a_refuted_or_mistaken_allergy_is_not_read(verification: str) -> None:
    case, issues = read(
        _allergy("a1", "Minocycline", verificationStatus=_allergy_status("verification", verification))
    )
    assert case.allergies == () and f"allergy is {verification}; not used" in messages(issues)


@pytest.mark.parametrize(
    "fields",
    [
        {"criticality": []},
        {"criticality": {"x": 1}},
        {"criticality": "extreme"},
        {"code": [1, 2]},
        {"reaction": {"manifestation": "x"}},
        {"reaction": [{"manifestation": [1, None, {"text": 5}]}]},
        {"recordedDate": 12},
        {"clinicalStatus": "active", "verificationStatus": [{}]},
    ],
)
def test_a_malformed_allergy_is_read_as_far_as_it_can_be_never_a_crash(fields: dict[str, Any]) -> None:
    resource = {**_allergy("a1", "Diltiazem"), **fields}
    case, _ = read(resource)
    assert len(case.allergies) == 1 and case.allergies[0].criticality in (
        None,
        "low",
        "high",
        "unable-to-assess",
    )


def test_an_allergy_that_is_no_longer_active_is_kept_with_its_status() -> None:
    case, _ = read(_allergy("a1", "Diltiazem", clinicalStatus=_allergy_status("clinical", "resolved")))
    assert case.allergies[0].status == "resolved"


def test_other_resource_types_are_reported_not_dropped() -> None:
    _, issues = read({"resourceType": "Encounter", "id": "e1", "status": "finished"})
    assert "Bundle.entry[1].resource(Encounter/e1): Encounter resources are not used" in messages(issues)


def test_elements_not_read_are_listed_in_an_issue() -> None:
    _, issues = read(condition("c1", "M34.1", evidence=[{"detail": []}], stage=[{}]))
    assert "element(s) not used: evidence, stage" in messages(issues)


def test_resource_with_a_modifier_extension_is_not_used() -> None:
    c = condition("c1", "M34.1", modifierExtension=[{"url": "http://x", "valueBoolean": True}])
    case, issues = read(c)
    assert case.conditions == () and "modifier extension" in messages(issues)


def test_search_outcome_entries_are_not_patient_data() -> None:
    data = bundle(patient(), kind="searchset")
    data["entry"].append(
        {"resource": {"resourceType": "OperationOutcome", "issue": []}, "search": {"mode": "outcome"}}
    )
    _, issues = case_from_fhir(data, as_of=AS_OF)
    assert "search outcome" in messages(issues)
