"""Records as EHR exports write them: code first, one bad Observation never refuses the patient, values
reported only as an interpretation are kept, SNOMED CT kidney codes, iatrogenic exposures and variants.

Codes used here and where each was seen (besides code-sets.yaml, which records the same):
- LOINC 14959-1 "Microalbumin/Creatinine [Mass ratio] in Urine" (Synthea-derived terminology tables list it as
  "Microalbumin Creatinine Ratio"), 9318-7 "Albumin/Creatinine [Mass Ratio] in Urine" (hl7ch/ch-lab-order
  input/fsh/instances/lab-compendium/ObservationDefinition/observation-urine-albumin-creatinine-ratio.fsh);
  both pass LOINC's mod-10 check digit. Neither is an analyte the assessment reads.
- LOINC 38483-4, 49765-1, 6299-2: synthetichealth/synthea src/main/resources/modules/dialysis.json.
- ICD-10-CM codes: checked with simple-icd-10-cm in tests/fhir/test_code_sets.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from calcinosis.engine import assess
from calcinosis.fhir.facts import case_from_fhir
from calcinosis.patient.models import Case, InputIssue
from calcinosis.patient.terms import load_lesion_vocabulary
from tests.fhir.fhirdata import ICD10CM, LOINC, SNOMED, UCUM, bundle, condition, lab, med, patient, subject

AS_OF = date(2026, 10, 15)
FORMULARY = "http://hospital.example.org/formulary"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


def read(*resources: dict[str, Any]) -> tuple[Case, list[InputIssue]]:
    return case_from_fhir(bundle(patient(), *resources), as_of=AS_OF)


def messages(issues: list[InputIssue]) -> str:
    return "\n".join(f"{i.location}: {i.message}" for i in issues)


def observation(rid: str, system: str, code: str, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": system, "code": code, "display": text}], "text": text},
        "effectiveDateTime": "2026-09-01",
        **subject(),
        **extra,
    }


def quantity(value: Any, unit: str) -> dict[str, Any]:
    return {"valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit}}


def procedure(rid: str, text: str, code: str | None = None, **extra: Any) -> dict[str, Any]:
    cc: dict[str, Any] = {"text": text}
    if code:
        cc["coding"] = [{"system": SNOMED, "code": code}]
    return {"resourceType": "Procedure", "id": rid, "status": "completed", "code": cc, **subject(), **extra}


def administration(rid: str, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration",
        "id": rid,
        "status": "completed",
        "medicationCodeableConcept": {"text": text},
        "effectiveDateTime": "2026-03-02T10:15:00Z",
        **subject(),
        **extra,
    }


IV = {"coding": [{"system": SNOMED, "code": "47625008"}]}  # Intravenous route (qualifier value), no text


# ------------------------------------------------------------------------------------ 1. code first
@pytest.mark.parametrize(
    ("code", "text"),
    [("14959-1", "Microalbumin Creatinine Ratio"), ("9318-7", "Albumin/Creatinine [Mass Ratio] in Urine")],
)
def test_urine_albumin_creatinine_ratio_is_not_serum_creatinine_when_coded_in_loinc(
    code: str, text: str
) -> None:
    acr = observation("acr1", LOINC, code, text, **quantity(42, "mg/g"))
    case, issues = read(acr, lab("o2", "2160-0", 1.1, "mg/dL"))
    assert [(x.id, x.analyte) for x in case.labs] == [("Observation/o2", "creatinine")]
    found = [i for i in issues if "Observation/acr1" in i.location]
    assert found and f"{LOINC}|{code}" in found[0].message


def test_text_is_not_read_against_a_code_from_a_known_system_when_the_code_is_not_ours() -> None:
    # LOINC 2345-7 is glucose (synthetichealth/synthea .../metabolic_syndrome/kidney_conditions.json)
    obs = observation("o1", LOINC, "2345-7", "Serum calcium", **quantity(9.4, "mg/dL"))
    case, issues = read(obs)
    assert case.labs == ()
    assert "Observation/o1" in messages(issues)


def test_a_known_loinc_code_wins_over_the_text_when_they_disagree() -> None:
    obs = observation("o1", LOINC, "17861-6", "Creatinine (mislabelled)", **quantity(9.4, "mg/dL"))
    case, _ = read(obs)
    assert case.labs[0].analyte == "calcium"


@pytest.mark.parametrize(
    ("code", "unit", "analyte"),
    [
        ("38483-4", "mg/dL", "creatinine"),
        ("49765-1", "mg/dL", "calcium"),
        ("6299-2", "mg/dL", "urea"),
    ],  # fmt: skip
)
def test_synthea_blood_chemistry_codes_are_read_when_exported(code: str, unit: str, analyte: str) -> None:
    case, _ = read(observation("o1", LOINC, code, analyte, **quantity(5.2, unit)))
    assert (case.labs[0].analyte, case.labs[0].loinc) == (analyte, code)


def test_text_refines_a_code_only_when_it_names_a_narrower_concept() -> None:
    generic = procedure("p1", "Hemodialysis via fistula", code="108241001")  # Dialysis procedure (procedure)
    unrelated = condition("c1", "M34.9", text="Systemic sclerosis; calciphylaxis ruled out")
    case, _ = read(generic, unrelated)
    assert [e.concept for e in case.history] == ["haemodialysis"]
    assert [c.concept for c in case.conditions] == ["systemic-sclerosis"]


# ------------------------------------------------------------------------- 2. bad Observation ≠ bad patient
def test_unknown_unit_is_an_issue_on_that_observation_and_the_rest_is_assessed() -> None:
    case, issues = read(lab("o1", "17861-6", 9.3, "furlong"), lab("o2", "2777-1", 4.1, "mg/dL"))
    assert [x.analyte for x in case.labs] == ["phosphate"]
    where = [i for i in issues if "Observation/o1" in i.location]
    assert where and "unit 'furlong' is not a known unit for calcium" in where[0].message
    assert where[0].severity == "warning"
    assessment = assess(case, issues=issues, as_of=AS_OF)
    assert any("furlong" in i.message for i in assessment.input_issues)


@pytest.mark.parametrize(
    "value",
    [{"value": "9.3", "unit": "mg/dL"}, {"unit": "mg/dL"}, "9.3 mg/dL", {"value": True, "unit": "mg/dL"}],
)
def test_a_malformed_quantity_is_an_issue_not_an_error(value: Any) -> None:
    obs = lab("o1", "17861-6", 9.3, "mg/dL")
    obs["valueQuantity"] = value
    case, issues = read(obs, condition("c1", "L94.2"))
    assert case.labs == () and case.conditions[0].concept == "calcinosis-cutis"
    assert "Observation/o1" in messages(issues)


def test_unknown_analyte_and_unknown_unit_are_one_issue_on_the_observation() -> None:
    obs = {"resourceType": "Observation", "id": "o9", "status": "final", **subject(),
           "code": {"text": "Urine ACR"}, **quantity(42, "mg/g")}  # fmt: skip
    case, issues = read(obs)
    assert case.labs == ()
    assert [i.location for i in issues if "o9" in i.location] == [
        "Bundle.entry[1].resource(Observation/o9).code"
    ]


def test_a_reference_range_that_is_not_a_list_does_not_stop_the_read() -> None:
    case, _ = read(lab("o1", "17861-6", 9.3, "mg/dL", referenceRange={"low": {"value": 8.5}}))
    assert case.labs[0].value == 9.3


def test_cli_assesses_a_patient_with_one_unreadable_lab_and_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(
        json.dumps(bundle(patient(), lab("o1", "17861-6", 9.3, "furlong"), condition("c1", "L94.2")))
    )
    r = subprocess.run(
        [sys.executable, "-m", "calcinosis", "assess", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert any("Observation/o1" in i["location"] for i in out["input_issues"])


# ------------------------------------------------------------------------------ 3. interpretation only
@pytest.mark.parametrize(("code", "expected"), [("N", "N"), ("H", "H"), ("LL", "LL"), ("A", "A")])
def test_an_interpretation_without_a_value_is_kept_as_that_interpretation(code: str, expected: str) -> None:
    obs = observation(
        "o1",
        LOINC,
        "17861-6",
        "Calcium",
        interpretation=[{"coding": [{"system": INTERPRETATION, "code": code}]}],
    )
    case, _ = read(obs)
    got = case.labs[0]
    assert (got.analyte, got.value, got.value_text, got.interpretation) == ("calcium", None, None, expected)


def test_an_interpretation_given_only_as_text_is_read() -> None:
    obs = observation("o1", LOINC, "2731-8", "PTH", interpretation=[{"text": "Normal"}])
    case, _ = read(obs)
    assert case.labs[0].interpretation == "N"


def test_no_value_and_no_interpretation_is_still_reported_and_not_used() -> None:
    case, issues = read(observation("o1", LOINC, "17861-6", "Calcium"))
    assert case.labs == () and "no result value" in messages(issues)


# ------------------------------------------------------------------- 4. kidney codes real exports write
@pytest.mark.parametrize(
    ("system", "code", "conditions", "events"),
    [
        (SNOMED, "431855005", ["ckd"], []),
        (SNOMED, "431856006", ["ckd"], []),
        (SNOMED, "433144002", ["ckd"], []),
        (SNOMED, "431857002", ["ckd"], []),
        (SNOMED, "433146000", ["esrd"], []),
        (SNOMED, "46177005", ["esrd"], []),
        (SNOMED, "714152005", ["esrd"], ["dialysis"]),
        (SNOMED, "105502003", [], ["dialysis"]),
        (SNOMED, "443143006", [], ["haemodialysis"]),
        (SNOMED, "443596009", [], ["peritoneal-dialysis"]),
        (SNOMED, "428982002", ["esrd"], ["haemodialysis"]),
        (SNOMED, "428937001", ["esrd"], ["peritoneal-dialysis"]),
        (SNOMED, "429075005", ["esrd"], ["dialysis"]),
        (ICD10CM, "N18.31", ["ckd"], []),
        (ICD10CM, "N18.6", ["esrd"], []),
        (ICD10CM, "I12.0", ["esrd"], []),
        (ICD10CM, "I13.11", ["esrd"], []),
        (ICD10CM, "I13.2", ["esrd"], []),
        (ICD10CM, "I12.9", ["ckd"], []),
        (ICD10CM, "I13.10", ["ckd"], []),
        (ICD10CM, "E11.22", ["ckd"], []),
        (ICD10CM, "E10.22", ["ckd"], []),
        (ICD10CM, "Z99.2", [], ["dialysis"]),
        (ICD10CM, "Z49.31", [], ["haemodialysis"]),
        (ICD10CM, "Z49.32", [], ["peritoneal-dialysis"]),
        (ICD10CM, "Z91.158", [], ["dialysis"]),
    ],
)
def test_kidney_conditions_coded_as_exports_code_them_map_to_concepts(
    system: str, code: str, conditions: list[str], events: list[str]
) -> None:
    case, _ = read(condition("c1", code, system=system))
    assert sorted(c.concept for c in case.conditions if c.concept) == conditions
    assert sorted(e.concept for e in case.history if e.concept) == events


@pytest.mark.parametrize(
    ("code", "concept"),
    [
        ("265764009", "dialysis"),  # Renal dialysis (procedure): Synthea's dialysis module
        ("302497006", "haemodialysis"),
        ("67970008", "haemodialysis"),
        ("233575001", "haemodialysis"),
        ("238318009", "peritoneal-dialysis"),
        ("428648006", "peritoneal-dialysis"),
        ("714749008", "dialysis"),
    ],
)
def test_dialysis_procedures_coded_in_snomed_become_history(code: str, concept: str) -> None:
    case, _ = read(procedure("p1", "dialysis session", code=code, performedDateTime="2026-05-01"))
    assert [(e.concept, e.date) for e in case.history] == [(concept, date(2026, 5, 1))]


# ------------------------------------------------------------------------------ 5. iatrogenic exposures
def test_iv_calcium_administration_is_a_dated_exposure_at_its_site() -> None:
    given = administration(
        "ma1", "calcium gluconate 100 MG/ML Injectable Solution",
        dosage={"site": {"text": "dorsum of left hand"}, "route": IV},
    )  # fmt: skip
    case, _ = read(given)
    assert [(e.concept, e.date, e.site) for e in case.history] == [
        ("iv-calcium", date(2026, 3, 2), "dorsum of left hand")
    ]
    assert case.medications == ()  # completed: an exposure, not a current medication


def test_iv_calcium_being_given_is_also_a_current_medication_with_its_route() -> None:
    given = administration(
        "ma1", "Calcium chloride 10% injection", status="in-progress",
        dosage={"route": {"text": "Intravenous"}},
    )  # fmt: skip
    case, _ = read(given)
    assert [e.concept for e in case.history] == ["iv-calcium"]
    assert [(m.concept, m.route, m.status) for m in case.medications] == [
        ("iv-calcium-medication", "Intravenous", "active")
    ]


@pytest.mark.parametrize("salt", ["Potassium phosphate 3 mmol/mL injection", "Sodium phosphates IV infusion"])
def test_iv_phosphate_administration_is_an_exposure(salt: str) -> None:
    case, _ = read(administration("ma1", salt, dosage={"route": IV}))
    assert [e.concept for e in case.history] == ["iv-phosphate"]


def test_oral_calcium_is_not_an_iv_exposure() -> None:
    case, _ = read(
        administration("ma1", "calcium gluconate 500 MG Oral Tablet", dosage={"route": {"text": "oral"}})
    )
    assert case.history == ()


def test_iv_route_medication_request_of_a_calcium_salt_is_also_an_exposure() -> None:
    request = med("m1", "calcium chloride 100 MG/ML Injectable Solution", authoredOn="2026-02-01",
                  dosageInstruction=[{"route": IV, "site": {"text": "right antecubital fossa"}}])  # fmt: skip
    case, _ = read(request)
    assert [m.concept for m in case.medications] == ["iv-calcium-medication"]
    assert [(e.concept, e.date, e.site) for e in case.history] == [
        ("iv-calcium", date(2026, 2, 1), "right antecubital fossa")
    ]


def test_a_single_medication_administration_can_be_assessed_on_its_own() -> None:
    case, _ = case_from_fhir(administration("ma1", "calcium gluconate", dosage={"route": IV}), as_of=AS_OF)
    assert [e.concept for e in case.history] == ["iv-calcium"]


@pytest.mark.parametrize(
    ("code", "concept"),
    [
        ("T80.818A", "infusion-extravasation"),
        ("T80.810A", "infusion-extravasation"),
        ("T80.1XXA", "infusion-complication"),
        ("T80.89XA", "infusion-complication"),
        ("T80.90XA", "infusion-complication"),
    ],
)
def test_t80_infusion_complications_are_dated_events_at_their_site(code: str, concept: str) -> None:
    c = condition("c1", code, onsetDateTime="2026-03-02", bodySite=[{"text": "left foot"}])
    case, _ = read(c)
    assert [(e.concept, e.date, e.site) for e in case.history] == [(concept, date(2026, 3, 2), "left foot")]


def test_an_extravasation_code_whose_text_names_calcium_is_a_calcium_extravasation() -> None:
    c = condition("c1", "T80.818A", text="Extravasation of calcium gluconate", onsetDateTime="2026-03-02")
    case, _ = read(c)
    assert [e.concept for e in case.history] == ["iv-calcium-extravasation"]


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("Heel stick", "heel-sticks"),
        ("Capillary blood sampling of the heel", "heel-sticks"),
        ("Heel prick blood test", "heel-sticks"),
        ("EEG electrode placement", "electrode-paste"),
        ("EMG electrode placement", "electrode-paste"),
        ("Calcium alginate dressing applied", "calcium-alginate-dressing"),
    ],
)
def test_procedures_that_expose_the_skin_are_dated_events_at_their_site(text: str, concept: str) -> None:
    p = procedure("p1", text, performedDateTime="2026-01-03", bodySite=[{"text": "left heel"}])
    case, _ = read(p)
    assert [(e.concept, e.date, e.site) for e in case.history] == [(concept, date(2026, 1, 3), "left heel")]


def test_an_exposure_named_in_a_note_becomes_an_event_at_the_resource_site() -> None:
    note = [{"text": "Firm plaque at the site of a calcium gluconate extravasation", "time": "2026-03-20"}]
    c = condition(
        "c1", "L94.2", bodySite=[{"text": "dorsum of left hand"}], note=note, onsetDateTime="2026-04-01"
    )
    case, _ = read(c)
    assert case.lesions and case.conditions[0].concept == "calcinosis-cutis"
    assert [(e.concept, e.date, e.site) for e in case.history] == [
        ("iv-calcium-extravasation", date(2026, 3, 20), "dorsum of left hand")
    ]


def test_an_exposure_in_an_observation_or_procedure_note_is_read_and_negations_are_not() -> None:
    obs = observation("o1", LOINC, "17861-6", "Calcium", note=[{"text": "Neonate: repeated heel sticks"}],
                      **quantity(9.4, "mg/dL"))  # fmt: skip
    p = procedure(
        "p1",
        "Wound care",
        note=[{"text": "no calcium alginate dressing used"}],
        performedDateTime="2026-01-01",
    )
    case, _ = read(obs, p)
    assert [(e.concept, e.date) for e in case.history if e.concept] == [("heel-sticks", date(2026, 9, 1))]


# --------------------------------------------------------------------- 6. variants from codes and text
def _lesion_classes(case: Case) -> tuple[set[str], set[str]]:
    vocab = load_lesion_vocabulary()
    sites: set[str] = set()
    features: set[str] = set()
    for lesion in case.lesions:
        text = " ".join(filter(None, [lesion.site, lesion.description, *lesion.features]))
        sites |= vocab.sites_in(lesion.site or "")
        features |= vocab.features_in(text)
    return sites, features


@pytest.mark.parametrize(
    "down",
    [
        condition("c1", "Q90.9"),
        condition("c1", "Q90.0"),
        condition("c1", "41040004", system=SNOMED),
        condition("c1", text="Down syndrome"),
        condition("c1", text="Trisomy 21"),
    ],
)
def test_down_syndrome_is_the_same_condition_from_any_code_or_text(down: dict[str, Any]) -> None:
    case, _ = read(down)
    assert [c.concept for c in case.conditions] == ["down-syndrome"]


def test_calciphylaxis_coded_with_the_unspecific_icd_code_is_read_from_its_text() -> None:
    # ICD-10-CM has no calciphylaxis code (none in the CDC tabular list); records use E83.59 with the name.
    named = condition("c1", "E83.59", text="Calciphylaxis", bodySite=[{"text": "thigh"}])
    bare = condition("c2", "E83.59")
    case, _ = read(named, bare)
    assert [c.concept for c in case.conditions] == ["calciphylaxis", None]
    assert case.lesions[0].site == "thigh"


def test_scrotal_site_coded_without_text_gives_the_same_site_as_the_word() -> None:
    coded = condition("c1", "L94.2", bodySite=[{"coding": [{"system": SNOMED, "code": "20233005"}]}],
                      note=[{"text": "multiple yellow-white nodules"}])  # fmt: skip
    worded = condition(
        "c1", "L94.2", bodySite=[{"text": "scrotum"}], note=[{"text": "multiple yellow-white nodules"}]
    )
    case_coded, _ = read(coded)
    case_worded, _ = read(worded)
    assert _lesion_classes(case_coded) == _lesion_classes(case_worded)
    assert "scrotal" in _lesion_classes(case_coded)[0]


@pytest.mark.parametrize(
    ("note", "feature"),
    [
        ("many milia-like papules on the hands", "milia-like"),
        ("large periarticular masses", "periarticular-mass"),
        ("widespread sheet-like deposits", "widespread"),
    ],
)
def test_variant_features_read_the_same_from_a_condition_note_or_a_finding(note: str, feature: str) -> None:
    as_condition = condition("c1", "L94.2", bodySite=[{"text": "hands"}], note=[{"text": note}])
    as_finding = {"resourceType": "Observation", "id": "o1", "status": "final", **subject(),
                  "code": {"text": "Skin lesion"}, "bodySite": {"text": "hands"}, "valueString": note}  # fmt: skip
    for resource in (as_condition, as_finding):
        case, _ = read(resource)
        assert feature in _lesion_classes(case)[1], resource["resourceType"]


def test_tumoral_calcinosis_from_text_is_a_condition_with_its_lesion() -> None:
    c = condition("c1", text="Uremic tumoral calcinosis", bodySite=[{"text": "right hip"}],
                  note=[{"text": "large periarticular mass, 8 cm"}])  # fmt: skip
    case, _ = read(c)
    assert [x.concept for x in case.conditions] == ["tumoral-calcinosis"]
    assert case.lesions[0].size_mm == 80.0


def test_locally_coded_calcium_administration_without_text_is_read_by_its_display() -> None:
    given = administration("ma1", "x", dosage={"route": IV})
    given["medicationCodeableConcept"] = {
        "coding": [
            {
                "system": FORMULARY,
                "code": "CAGLU10",
                "display": "calcium gluconate 100 MG/ML Injectable Solution",
            }
        ]
    }
    case, _ = read(given)
    assert [e.concept for e in case.history] == ["iv-calcium"]


# ----------------------------------------------- the same patient, coded or written, gets the same call
EQUIVALENT: dict[str, tuple[list[dict[str, Any]], dict[str, Any]]] = {
    "down-syndrome-milia": (
        [
            condition("c1", "Q90.9"),
            condition(
                "c2", "L94.2", bodySite=[{"text": "hands"}], note=[{"text": "multiple milia-like papules"}]
            ),
        ],
        {
            "conditions": ["Down syndrome", "calcinosis cutis"],
            "lesions": [{"site": "hands", "description": "multiple milia-like papules"}],
        },
    ),
    "scrotal-coded-site": (
        [
            condition(
                "c1",
                "L94.2",
                bodySite=[{"coding": [{"system": SNOMED, "code": "20233005"}]}],
                note=[{"text": "multiple yellow-white nodules"}],
            )
        ],
        {
            "conditions": ["calcinosis cutis"],
            "lesions": [{"site": "scrotum", "description": "multiple yellow-white nodules"}],
        },
    ),
    "esrd-dialysis-snomed": (
        [
            condition("c1", "46177005", system=SNOMED),
            procedure("p1", "Renal dialysis (procedure)", code="265764009", performedDateTime="2026-09-01"),
            condition(
                "c2",
                "L94.2",
                bodySite=[{"text": "around the hips"}],
                note=[{"text": "large periarticular masses"}],
            ),
        ],
        {
            "conditions": ["end-stage renal disease", "calcinosis cutis"],
            "history": [{"text": "dialysis", "date": "2026-09-01"}],
            "lesions": [{"site": "around the hips", "description": "large periarticular masses"}],
        },
    ),
}


@pytest.mark.parametrize("name", sorted(EQUIVALENT))
def test_a_coded_record_gets_the_same_call_as_the_same_facts_written_in_words(name: str) -> None:
    resources, native = EQUIVALENT[name]
    child = name.startswith("down")
    born = "2017-06-01" if child else "1980-06-01"
    sex = "male" if name.startswith("scrotal") else "female"
    coded, issues = case_from_fhir(bundle(patient(birthDate=born, gender=sex), *resources), as_of=AS_OF)
    written = Case.model_validate({**native, "birth_date": born, "as_of": AS_OF.isoformat(), "sex": sex})
    a = assess(coded, issues=issues, as_of=AS_OF)
    b = assess(written, as_of=AS_OF)
    assert (a.subtype.code, a.subtype.variant) == (b.subtype.code, b.subtype.variant)
    assert _lesion_classes(coded) == _lesion_classes(written)


# ------------------------------------------------------------------------------ exposures reach the call
def test_extravasation_code_and_calcium_infusion_at_the_lesion_site_make_the_call_iatrogenic() -> None:
    """The class of miss from real records: an ICD-10-CM T80 extravasation code (agent not named) plus a
    calcium gluconate administration at a site, and calcinosis at that site two weeks later."""
    extravasation = condition("c1", "T80.818A", onsetDateTime="2026-03-02")
    given = administration(
        "ma1", "calcium gluconate 100 MG/ML Injectable Solution",
        dosage={"site": {"text": "dorsum of left hand"}, "route": IV},
    )  # fmt: skip
    lesion = condition(
        "c2", "L94.2", "Calcinosis cutis", onsetDateTime="2026-03-16",
        bodySite=[{"text": "dorsum of left hand"}], note=[{"text": "firm white plaque, erythematous"}],
    )  # fmt: skip
    case, issues = read(extravasation, given, lesion)
    a = assess(case, issues=issues, as_of=AS_OF)
    assert a.subtype.code.value == "iatrogenic", [r.text for r in a.subtype.reasons]
    assert "r2-iatrogenic" in {f.rule for f in a.differential[0].supporting}
