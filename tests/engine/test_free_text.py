"""Case-report phrasing: free text, shorthand input shapes and negation are read as a clinician means them."""

from __future__ import annotations

from typing import Any

from calcinosis.engine import assess
from calcinosis.patient.case_json import parse_case
from calcinosis.patient.terms import load_lesion_vocabulary
from calcinosis.patient.vocabulary import load_vocabulary


def run(data: dict[str, Any]):  # type: ignore[no-untyped-def]
    case, issues = parse_case(data)
    return assess(case, issues=issues)


def test_negated_terms_are_not_asserted() -> None:
    vocab = load_vocabulary()
    assert "warfarin" not in vocab.find("denies warfarin use")
    assert "ckd" not in vocab.find("no chronic kidney disease")
    assert "colchicine" in vocab.find("denies warfarin use but takes colchicine")
    features = load_lesion_vocabulary().features_in("firm nodules, not painful, without ulceration")
    assert not features & {"painful", "ulcerated"}


def test_strings_are_accepted_where_lists_of_objects_are_expected() -> None:
    case, issues = parse_case(
        {
            "age": 47,
            "gender": "F",
            "conditions": ["CREST syndrome"],
            "medications": "nifedipine",
            "lesions": [{"site": "fingertips", "features": "painful, ulcerated, chalky discharge"}],
        }
    )
    assert case.age_years == 47 and case.sex.value == "female"
    assert case.conditions[0].text == "CREST syndrome"
    assert case.lesions[0].features == ("painful", "ulcerated", "chalky discharge")
    assert not issues


def test_dialysis_named_among_conditions_counts_as_dialysis() -> None:
    a = run(
        {
            "age_years": 59,
            "conditions": ["End-stage renal disease on hemodialysis"],
            "lesions": [
                {"site": "abdomen", "features": ["exquisitely painful", "violaceous plaques", "necrosis"]}
            ],
        }
    )
    assert a.subtype.code.value == "calciphylaxis"


def test_history_of_transplant_in_free_text_is_a_condition() -> None:
    a = run(
        {
            "age_years": 52,
            "history": [{"text": "Liver transplantation three weeks ago with massive transfusion"}],
            "labs": [
                {"analyte": "Calcium", "value": 9.8, "unit": "mg/dl"},
                {"analyte": "Serum phosphorus", "value": 4.0, "unit": "mg/dl"},
            ],
            "lesions": [{"site": "forearms", "features": ["firm nodules"]}],
        }
    )
    assert a.subtype.variant == "transplant-associated"


def test_micro_sign_and_greek_mu_units_are_both_read() -> None:
    for unit in ("µmol/L", "μmol/L"):
        a = run({"labs": [{"analyte": "creatinine", "value": 300, "unit": unit}]})
        assert not [i for i in a.input_issues if "unit" in i.location]
