"""Engine behaviour on targeted facts: units, corrected calcium, cautions, alerts, input issues."""

from __future__ import annotations

from typing import Any

from calcinosis.engine import assess
from calcinosis.engine.facts import build_view
from calcinosis.pack import KnowledgePack
from calcinosis.patient.case_json import parse_case


def run(data: dict[str, Any]):  # type: ignore[no-untyped-def]
    case, issues = parse_case(data)
    return assess(case, issues=issues)


def test_si_and_us_units_give_the_same_corrected_calcium(pack: KnowledgePack) -> None:
    us = parse_case(
        {
            "labs": [
                {"analyte": "calcium", "value": 10.0, "unit": "mg/dL"},
                {"analyte": "albumin", "value": 3.0, "unit": "g/dL"},
            ]
        }
    )[0]
    si = parse_case(
        {
            "labs": [
                {"analyte": "calcium", "value": 2.495, "unit": "mmol/L"},
                {"analyte": "albumin", "value": 30, "unit": "g/L"},
            ]
        }
    )[0]
    a = build_view(us, pack).lab("corrected-calcium")
    b = build_view(si, pack).lab("corrected-calcium")
    assert a is not None and b is not None
    assert abs(a.value - 10.8) < 1e-6
    assert abs(a.value - b.value) < 0.01


def test_low_albumin_unmasks_hypercalcaemia(pack: KnowledgePack) -> None:
    case = parse_case(
        {
            "labs": [
                {"analyte": "calcium", "value": 10.2, "unit": "mg/dL"},
                {"analyte": "albumin", "value": 2.5, "unit": "g/dL"},
            ]
        }
    )[0]
    lv = build_view(case, pack).lab("corrected-calcium")
    assert lv is not None and lv.flag == "H"


def test_latest_lab_value_wins(pack: KnowledgePack) -> None:
    case = parse_case(
        {
            "labs": [
                {"analyte": "phosphate", "value": 9.0, "unit": "mg/dL", "date": "2026-01-01"},
                {"analyte": "phosphate", "value": 3.0, "unit": "mg/dL", "date": "2026-06-01"},
            ]
        }
    )[0]
    lv = build_view(case, pack).lab("phosphate")
    assert lv is not None and lv.value == 3.0


def test_unknown_unit_is_reported_and_ignored() -> None:
    a = run({"labs": [{"analyte": "calcium", "value": 9.5, "unit": "furlongs"}]})
    assert any("furlongs" in i.message for i in a.input_issues)
    assert not any(f.kind == "lab" for f in a.facts_used)


def test_unknown_fields_and_terms_are_reported_not_dropped() -> None:
    a = run({"favourite_colour": "blue", "conditions": [{"text": "frobnitz syndrome"}]})
    locations = {i.location for i in a.input_issues}
    assert "favourite_colour" in locations
    assert "conditions[0]" in locations


def test_resolved_and_refuted_conditions_do_not_count() -> None:
    a = run(
        {
            "conditions": [
                {"text": "systemic sclerosis", "status": "resolved"},
                {"text": "dermatomyositis", "verification": "differential"},
            ],
            "lesions": [{"site": "finger", "features": ["nodule"]}],
        }
    )
    assert a.subtype.code.value != "dystrophic"


def test_warfarin_is_avoided_and_alert_is_critical_in_suspected_calciphylaxis() -> None:
    a = run(
        {
            "age_years": 70,
            "conditions": [{"text": "ESRD"}],
            "history": [{"text": "hemodialysis"}],
            "medications": [{"name": "warfarin"}],
            "lesions": [{"site": "thigh", "features": ["painful", "retiform purpura"]}],
        }
    )
    assert a.subtype.code.value == "calciphylaxis"
    assert a.alerts and a.alerts[0].severity == "critical"
    warfarin = [t for t in a.therapies if t.id == "low-dose-warfarin"]
    assert warfarin and warfarin[0].stance.value == "avoid"


def test_minocycline_caution_applies_to_a_young_child() -> None:
    a = run(
        {
            "age_years": 6,
            "conditions": [{"text": "limited systemic sclerosis"}],
            "labs": [
                {"analyte": "calcium", "value": 9.5, "unit": "mg/dL"},
                {"analyte": "phosphate", "value": 4.0, "unit": "mg/dL"},
            ],
            "lesions": [{"site": "fingertip", "features": ["inflamed", "ulcerated"]}],
        }
    )
    mino = next(t for t in a.therapies if t.id == "minocycline")
    assert any(c.patient_specific for c in mino.cautions)
    assert mino.stance.value in ("use-with-caution", "avoid")


def test_assessment_is_deterministic() -> None:
    data = {"age_years": 50, "conditions": [{"text": "dermatomyositis"}], "lesions": [{"site": "elbow"}]}
    assert run(data).model_dump() == run(data).model_dump()
