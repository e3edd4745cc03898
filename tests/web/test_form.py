"""The assess form -> native case JSON, its messages, and its choices checked against the vocabularies."""

from __future__ import annotations

from calcinosis.inputs import read_patient
from calcinosis.patient.terms import load_lab_vocabulary, load_lesion_vocabulary
from calcinosis.patient.vocabulary import load_vocabulary
from calcinosis.web.choices import CONDITIONS, FEATURES, HISTORY, LABS, QUALITATIVE
from calcinosis.web.form import read_form

FULL = {
    "label": ["case-7"],
    "age": ["47.5"],
    "sex": ["female"],
    "pregnant": ["no"],
    "as_of": ["2026-03-01"],
    "lab_date": ["2026-02-27"],
    "condition": ["limited-systemic-sclerosis"],
    "other_conditions": ["Raynaud phenomenon\n\n"],
    "history": ["radiograph"],
    "other_history": [""],
    "lab-calcium": ["2.4"],
    "unit-calcium": ["mmol/L"],
    "lab-phosphate": ["3,5"],
    "unit-phosphate": ["mg/dL"],
    "lab-albumin": [""],
    "unit-albumin": ["g/dL"],
    "qual-ana": ["POS"],
    "lesion0-site": ["fingertips"],
    "lesion0-count": ["3"],
    "lesion0-size": ["4"],
    "lesion0-feature": ["painful", "chalky discharge"],
    "lesion1-site": [""],
    "medications": ["diltiazem 120 mg daily\n  colchicine  "],
    "notes": ["seen in clinic"],
}


def test_case_json_matches_the_form_when_every_section_is_filled() -> None:
    case, state = read_form(FULL)
    assert state.errors == {}
    assert case == {
        "id": "case-7",
        "age_years": 47.5,
        "sex": "female",
        "pregnant": False,
        "as_of": "2026-03-01",
        "conditions": [{"concept": "limited-systemic-sclerosis"}, {"text": "Raynaud phenomenon"}],
        "history": [{"concept": "radiograph"}],
        "labs": [
            {"analyte": "calcium", "value": 2.4, "unit": "mmol/L", "date": "2026-02-27"},
            {"analyte": "phosphate", "value": 3.5, "unit": "mg/dL", "date": "2026-02-27"},
            {"analyte": "ana", "value_text": "positive", "interpretation": "POS", "date": "2026-02-27"},
        ],
        "lesions": [
            {"site": "fingertips", "count": 3, "size_mm": 4.0, "features": ["painful", "chalky discharge"]}
        ],
        "medications": [{"name": "diltiazem 120 mg daily"}, {"name": "colchicine"}],
        "notes": "seen in clinic",
    }


def test_engine_reads_the_form_case_without_issues_when_the_form_is_valid() -> None:
    case, _ = read_form(FULL)
    parsed, issues = read_patient(case)
    assert issues == []
    assert parsed.labs[0].unit == "mmol/L"
    assert parsed.lesions[0].count == 3


def test_errors_name_each_bad_field_when_values_are_out_of_range_or_not_numbers() -> None:
    form = {
        "age": ["131"],
        "lab-calcium": ["two"],
        "lab-pth": ["-1"],
        "lesion0-count": ["2.5"],
        "lesion0-size": ["inf"],
        "as_of": ["2026-02-30"],
    }
    case, state = read_form(form)
    assert state.errors == {
        "age": "Age: enter a value from 0 to 130.",
        "lab-calcium": "Calcium (total): enter a number (for example 1).",
        "lab-pth": "Parathyroid hormone (intact): enter a value from 0 to 100000.",
        "lesion0-count": "Lesion 1 count: enter a whole number (for example 2).",
        "lesion0-size": "Lesion 1 size: enter a value from 0 to 1000.",
        "as_of": "Assessment date: enter a date as YYYY-MM-DD.",
    }
    assert "labs" not in case and "age_years" not in case
    assert state.value("age") == "131"  # shown again as entered


def test_unknown_options_are_rejected_when_a_posted_value_was_not_offered() -> None:
    _, state = read_form({"sex": ["robot"], "condition": ["made-up"], "unit-calcium": ["g/L"]})
    assert set(state.errors) == {"sex", "condition", "unit-calcium"}


def test_blank_form_gives_an_empty_case_when_nothing_is_entered() -> None:
    case, state = read_form({})
    assert state.errors == {}
    assert case == {"sex": "unknown"}


def test_every_choice_names_a_known_id_when_checked_against_the_vocabularies() -> None:
    vocab = load_vocabulary()
    for c in CONDITIONS:
        assert vocab.concepts[c.value].kind == "condition", c.value
    for c in HISTORY:
        assert vocab.concepts[c.value].kind == "event", c.value
    labs = load_lab_vocabulary()
    for f in LABS:
        for unit in f.units:
            assert labs.to_canonical(f.analyte, 1.0, unit) is not None, (f.analyte, unit)
    for q in QUALITATIVE:
        assert q.value in labs.terms
    lesions = load_lesion_vocabulary()
    for feature, choice in FEATURES:
        assert feature in lesions.features_in(choice.value), (feature, choice.value)
