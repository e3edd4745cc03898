"""A recorded allergy or intolerance is shown on every option whose drug it names, as a patient-specific
warning; one that names no option is reported, never dropped."""

from __future__ import annotations

from typing import Any

from calcinosis.engine import Assessment, Stance, assess
from calcinosis.patient.models import Case

BASE: dict[str, Any] = {
    "id": "allergy-case",
    "age_years": 52,
    "sex": "female",
    "conditions": ["dermatomyositis", "calcinosis cutis"],
    "lesions": [{"site": "elbow", "description": "firm calcified nodules"}],
}


def run(*allergies: Any) -> Assessment:
    return assess(Case.model_validate({**BASE, "allergies": list(allergies)}))


def option(a: Assessment, therapy: str) -> Any:
    return next(t for t in a.therapies if t.id == therapy)


def test_an_allergy_to_an_options_drug_is_a_patient_specific_warning_on_that_option() -> None:
    plain = run()
    a = run({"id": "al1", "substance": "Diltiazem", "criticality": "high", "reaction": "angio-oedema"})
    before, after = option(plain, "diltiazem"), option(a, "diltiazem")
    caution = after.cautions[0]
    assert caution.id == "recorded-allergy" and caution.patient_specific and caution.triggered_by == ("al1",)
    assert "angio-oedema" in caution.text and "criticality high" in caution.text
    assert after.stance.rank >= Stance.USE_WITH_CAUTION.rank and "allergy:al1" in after.basis.rules
    assert "al1" in after.basis.facts and any(f.id == "al1" for f in a.facts_used)
    assert before.cautions[0].id != "recorded-allergy"
    others = [(t.id, t.stance) for t in a.therapies if t.id != "diltiazem"]
    assert others == [(t.id, t.stance) for t in plain.therapies if t.id != "diltiazem"]


def test_an_allergy_naming_the_class_a_drug_belongs_to_reaches_the_drug() -> None:
    a = run("tetracycline")
    assert option(a, "minocycline").cautions[0].id == "recorded-allergy"


def test_a_drug_the_vocabulary_files_under_the_options_class_is_shown_by_its_own_name() -> None:
    a = run("doxycycline")  # read as a tetracycline, as minocycline is
    caution = option(a, "minocycline").cautions[0]
    assert caution.id == "recorded-allergy" and "doxycycline" in caution.text
    assert all(c.id != "recorded-allergy" for c in option(a, "diltiazem").cautions)


def test_an_allergy_that_names_no_option_is_reported_as_an_input_issue() -> None:
    a = run("peanut")
    assert [i.location for i in a.input_issues if "peanut" in i.message] == ["allergies[0]"]
    assert all(c.id != "recorded-allergy" for t in a.therapies for c in t.cautions)


def test_a_resolved_or_refuted_allergy_does_not_count() -> None:
    a = run(
        {"substance": "diltiazem", "status": "resolved"},
        {"substance": "diltiazem", "verification": "refuted"},
    )
    assert all(c.id != "recorded-allergy" for c in option(a, "diltiazem").cautions)
    assert sum("not counted" in i.message for i in a.input_issues) == 2


def test_a_negated_mention_is_not_an_allergy_to_the_drug() -> None:
    a = run("no allergy to diltiazem")
    assert all(c.id != "recorded-allergy" for c in option(a, "diltiazem").cautions)
