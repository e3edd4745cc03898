"""Classes of miss found when the engine met real patients (issue: clinical reasoning that holds on real
patients). Each expectation is written from the dossier (§1.4 rules, §1.5 readings I1–I6, §2.4 scenario work-up,
§2.5 paediatric intervals) and drug-labels.md, not from the engine's output.
"""

from __future__ import annotations

from typing import Any

from calcinosis.engine import Assessment, Stance, assess
from calcinosis.engine.facts import build_view
from calcinosis.pack import KnowledgePack
from calcinosis.patient.case_json import parse_case


def run(data: dict[str, Any]) -> Assessment:
    case, issues = parse_case(data)
    return assess(case, issues=issues)


def option(a: Assessment, therapy_id: str) -> Any:
    found = [t for t in a.therapies if t.id == therapy_id]
    return found[0] if found else None


def rank_of(a: Assessment, therapy_id: str) -> int:
    t = option(a, therapy_id)
    return t.rank if t is not None else 10_000


def missing_workup(a: Assessment) -> set[str]:
    return {w.id for w in a.workup if w.status.value == "missing"}


# ----------------------------------------------------------------------------- first match wins (I1, I2, I3)
SSC_CKD = {
    "age_years": 58,
    "sex": "female",
    "conditions": [
        {"text": "limited cutaneous systemic sclerosis"},
        {"text": "chronic kidney disease stage 4"},
    ],
    "labs": [
        {"analyte": "calcium", "value": 9.2, "unit": "mg/dL"},
        {"analyte": "albumin", "value": 4.0, "unit": "g/dL"},
        {"analyte": "phosphate", "value": 3.9, "unit": "mg/dL"},
        {"analyte": "egfr", "value": 20, "unit": "mL/min/1.73m2"},
    ],
    "lesions": [{"site": "fingertips", "count": 3, "features": ["firm white nodules"]}],
}


def test_ssc_with_ckd_and_normal_minerals_is_dystrophic_not_metastatic() -> None:
    a = run(SSC_CKD)
    assert a.subtype.code.value == "dystrophic"
    assert a.differential[0].code.value == "dystrophic"
    metastatic = [c for c in a.differential if c.code.value == "metastatic"]
    assert metastatic, "metastatic stays in the differential as context"
    assert metastatic[0].rank > 1
    # kidney disease alone is context: said so among the opposing or context findings
    assert any("context" in f.text.lower() or "normal" in f.text.lower() for f in metastatic[0].opposing)


def test_ssc_with_ckd_does_not_put_parathyroidectomy_first() -> None:
    a = run(SSC_CKD)
    ptx = option(a, "parathyroidectomy")
    assert a.therapies[0].id != "parathyroidectomy"
    if ptx is not None:
        assert ptx.stance in (Stance.AVOID, Stance.USE_WITH_CAUTION, Stance.CONSIDER)
        assert ptx.stance is not Stance.RECOMMENDED


def test_ssc_with_ckd_and_high_phosphate_calls_metastatic_with_dystrophic_alternative() -> None:
    data = {
        **SSC_CKD,
        "labs": [*SSC_CKD["labs"][:2], {"analyte": "phosphate", "value": 7.8, "unit": "mg/dL"}],
    }
    a = run(data)
    codes = [c.code.value for c in a.differential]
    assert codes[0] == "metastatic"
    assert "dystrophic" in codes[1:]


# ----------------------------------------------------------------------------- children's labs (§2.5)
def test_neonate_phosphate_six_is_normal_for_age() -> None:
    case, _ = parse_case(
        {
            "age_years": 0.02,
            "labs": [{"analyte": "phosphate", "value": 6.0, "unit": "mg/dL"}],
            "lesions": [{"site": "heel", "features": ["white papules"]}],
        }
    )
    from calcinosis.pack import load_pack_cached

    view = build_view(case, load_pack_cached())
    lv = view.lab("phosphate")
    assert lv is not None and lv.flag == "N"
    assert "newborn" in lv.flag_basis.lower() or "infant" in lv.flag_basis.lower()


def test_child_without_paediatric_interval_is_not_interpretable_not_high(pack: KnowledgePack) -> None:
    case, _ = parse_case(
        {
            "age_years": 6,
            "labs": [
                {"analyte": "phosphate", "value": 5.6, "unit": "mg/dL"},
                {"analyte": "alp", "value": 250, "unit": "U/L"},
            ],
            "lesions": [{"site": "forearm", "features": ["firm nodule"]}],
        }
    )
    view = build_view(case, pack)
    for analyte in ("phosphate", "alp"):
        lv = view.lab(analyte)
        assert lv is not None
        assert lv.flag == "U"
        assert "paediatric interval" in lv.flag_basis
    a = assess(case)
    assert a.subtype.code.value != "metastatic"


def test_lab_flagged_high_by_its_own_laboratory_still_counts_in_a_child() -> None:
    a = run(
        {
            "age_years": 6,
            "labs": [{"analyte": "calcium", "value": 13.5, "unit": "mg/dL", "interpretation": "H"}],
            "lesions": [{"site": "arm", "features": ["nodules"]}],
        }
    )
    assert a.subtype.code.value == "metastatic"


def test_neonate_with_iv_calcium_extravasation_is_iatrogenic_and_observed_first() -> None:
    a = run(
        {
            "age_years": 0.05,
            "as_of": "2026-03-20",
            "labs": [
                {"analyte": "calcium", "value": 9.4, "unit": "mg/dL"},
                {"analyte": "phosphate", "value": 6.8, "unit": "mg/dL"},
            ],
            "lesions": [
                {
                    "site": "left hand",
                    "features": ["firm white plaque", "erythematous"],
                    "onset": "2026-03-15",
                }
            ],
            "history": [{"text": "calcium gluconate infusion", "site": "left hand", "date": "2026-03-02"}],
        }
    )
    assert a.subtype.code.value == "iatrogenic"
    assert a.therapies[0].id == "no-treatment"
    for procedure in ("surgical-excision", "sodium-thiosulfate-topical", "co2-laser"):
        assert rank_of(a, procedure) > rank_of(a, "no-treatment")
        t = option(a, procedure)
        if t is not None:
            assert t.stance is not Stance.RECOMMENDED
    # scenario work-up (I4): calcium, phosphate, radiograph; no connective tissue disease examination
    assert "ctd-examination" not in {w.id for w in a.workup}
    assert "dialysis-adequacy" not in {w.id for w in a.workup}


def test_heel_stick_nodules_in_an_infant_are_iatrogenic() -> None:
    a = run(
        {
            "age_years": 0.3,
            "history": [{"text": "repeated heel sticks in the neonatal unit", "site": "heel"}],
            "lesions": [{"site": "heels", "count": 4, "features": ["white papules"]}],
            "labs": [{"analyte": "phosphate", "value": 6.2, "unit": "mg/dL"}],
        }
    )
    assert a.subtype.code.value == "iatrogenic"
    assert a.therapies[0].id == "no-treatment"


def test_milia_like_papules_in_down_syndrome_are_not_metastatic() -> None:
    a = run(
        {
            "age_years": 9,
            "conditions": ["Down syndrome"],
            "labs": [{"analyte": "phosphate", "value": 5.4, "unit": "mg/dL"}],
            "lesions": [{"site": "hands", "count": 20, "features": ["milia-like white papules"]}],
        }
    )
    assert (a.subtype.code.value, a.subtype.variant) == ("idiopathic", "milia-like-idiopathic")
    assert a.therapies[0].id == "no-treatment"


# ----------------------------------------------------------------------------- exposures (R2)
def test_iv_calcium_at_the_lesion_site_before_onset_makes_the_call_iatrogenic() -> None:
    a = run(
        {
            "age_years": 45,
            "conditions": ["end-stage renal disease"],
            "history": [
                {"text": "hemodialysis"},
                {
                    "concept": "iv-calcium",
                    "text": "calcium gluconate IV",
                    "site": "right forearm",
                    "date": "2026-01-10",
                },
            ],
            "labs": [{"analyte": "phosphate", "value": 6.9, "unit": "mg/dL"}],
            "lesions": [
                {"site": "right forearm", "features": ["erythematous", "firm plaque"], "onset": "2026-01-22"}
            ],
        }
    )
    assert a.subtype.code.value == "iatrogenic"
    assert "metastatic" in [c.code.value for c in a.differential[1:]]


def test_an_exposure_after_the_lesion_appeared_does_not_explain_it() -> None:
    a = run(
        {
            "age_years": 50,
            "history": [
                {"text": "calcium gluconate extravasation", "site": "left arm", "date": "2026-05-01"}
            ],
            "labs": [
                {"analyte": "calcium", "value": 9.3, "unit": "mg/dL"},
                {"analyte": "phosphate", "value": 3.5, "unit": "mg/dL"},
            ],
            "lesions": [{"site": "left arm", "features": ["nodule"], "onset": "2026-01-01"}],
        }
    )
    assert a.subtype.code.value != "iatrogenic"


# ----------------------------------------------------------------------------- context-aware ranking
def test_hand_surgery_caution_is_not_patient_specific_for_scrotal_nodules() -> None:
    a = run(
        {
            "age_years": 28,
            "sex": "male",
            "conditions": ["systemic sclerosis"],
            "labs": [
                {"analyte": "calcium", "value": 9.3, "unit": "mg/dL"},
                {"analyte": "phosphate", "value": 3.5, "unit": "mg/dL"},
            ],
            "lesions": [{"site": "scrotum", "count": 6, "features": ["yellow-white nodules"]}],
        }
    )
    excision = option(a, "surgical-excision")
    assert excision is not None
    for c in excision.cautions:
        if "hand" in c.text.lower() or "digital" in c.text.lower():
            assert not c.patient_specific, c.text


def test_red_hot_discharging_deposits_raise_infection_first() -> None:
    a = run(
        {
            "age_years": 61,
            "conditions": ["dermatomyositis"],
            "lesions": [{"site": "elbow", "features": ["red", "warm", "discharging", "purulent"]}],
        }
    )
    assert a.therapies[0].id == "infection-culture-antibiotics"
    assert a.therapies[0].stance is Stance.RECOMMENDED


def test_pregnant_patient_on_methotrexate_gets_an_alert_from_the_label() -> None:
    a = run(
        {
            "age_years": 31,
            "sex": "female",
            "pregnant": True,
            "conditions": ["dermatomyositis"],
            "medications": [{"name": "methotrexate 15 mg weekly"}],
            "lesions": [{"site": "elbow", "features": ["nodule"]}],
        }
    )
    texts = " ".join(al.text.lower() for al in a.alerts)
    assert "methotrexate" in texts and "pregnan" in texts
    current = [m for m in a.medication_safety if "methotrexate" in m.medication.lower()]
    assert current and any(f.context == "pregnancy" for f in current[0].facts)


def test_options_without_a_pregnancy_fact_say_not_recorded() -> None:
    a = run(
        {
            "age_years": 31,
            "sex": "female",
            "pregnant": True,
            "conditions": ["systemic sclerosis"],
            "lesions": [{"site": "finger", "features": ["nodule", "inflamed"]}],
        }
    )
    drugs = [t for t in a.therapies if t.label_facts]
    assert drugs
    statuses = {f.status for t in a.therapies for f in t.label_facts if f.context == "pregnancy"}
    assert "not-recorded" in statuses
    for t in a.therapies:
        for f in t.label_facts:
            if f.status == "not-recorded":
                assert "check the current label" in f.text


def test_painful_ulcerated_thigh_nodule_in_jdm_is_not_calciphylaxis() -> None:
    a = run(
        {
            "age_years": 9,
            "conditions": ["juvenile dermatomyositis"],
            "lesions": [{"site": "thigh", "features": ["painful", "ulcerated", "nodule"]}],
        }
    )
    assert not any("calciphylaxis" in al.id for al in a.alerts)
    assert a.subtype.code.value == "dystrophic"


def test_contraindicated_options_never_lead() -> None:
    a = run(
        {
            "age_years": 6,
            "conditions": ["juvenile dermatomyositis"],
            "lesions": [{"site": "elbow", "features": ["nodule", "inflamed", "ulcerated"]}],
        }
    )
    mino = option(a, "minocycline")
    assert mino is not None and mino.stance is Stance.AVOID
    usable = [t.rank for t in a.therapies if t.stance is not Stance.AVOID]
    assert usable and mino.rank > max(usable)


# ----------------------------------------------------------------------------- recorded facts
def test_recorded_calciphylaxis_without_risk_context_is_followed_with_a_flag() -> None:
    a = run(
        {
            "age_years": 70,
            "conditions": ["calciphylaxis"],
            "lesions": [{"site": "abdomen", "features": ["painful plaque"]}],
        }
    )
    assert a.subtype.code.value == "calciphylaxis"
    assert a.therapies, "a recorded calciphylaxis gets its therapy options"
    top = a.differential[0]
    assert any("record" in f.text.lower() for f in top.supporting)
    assert top.opposing, "findings that argue against the recorded diagnosis are flagged"


def test_reported_normal_without_a_value_counts_as_normal(pack: KnowledgePack) -> None:
    case, _ = parse_case(
        {
            "age_years": 50,
            "conditions": ["systemic sclerosis"],
            "labs": [
                {"analyte": "calcium", "interpretation": "N"},
                {"analyte": "phosphate", "interpretation": "N"},
                {"analyte": "pth", "interpretation": "N"},
            ],
            "lesions": [{"site": "finger", "features": ["nodule"]}],
        }
    )
    a = assess(case)
    done = {w.id: w for w in a.workup if w.status.value == "done"}
    assert "serum-calcium" in done and "reported normal" in (done["serum-calcium"].result or "")
    assert a.subtype.confidence == "high"


# ----------------------------------------------------------------------------- no calcinosis, no subtype
def test_at_risk_patient_without_calcinosis_gets_no_subtype_and_no_therapy() -> None:
    a = run(
        {
            "age_years": 66,
            "conditions": ["end-stage renal disease"],
            "history": ["hemodialysis"],
            "labs": [{"analyte": "phosphate", "value": 7.9, "unit": "mg/dL"}],
        }
    )
    assert a.calcinosis.recorded is False
    assert a.subtype.code.value == "undetermined"
    assert "no calcinosis recorded" in a.subtype.name.lower()
    assert a.therapies == ()
    assert a.risk_profile, "the risk profile says what the patient is at risk of"


# ----------------------------------------------------------------------------- scenario work-up (I4)
def test_no_dialysis_adequacy_for_a_patient_not_on_dialysis() -> None:
    a = run(
        {
            "age_years": 60,
            "conditions": ["chronic kidney disease stage 3"],
            "labs": [{"analyte": "phosphate", "value": 6.5, "unit": "mg/dL"}],
            "lesions": [{"site": "knee", "features": ["nodules"]}],
        }
    )
    assert "dialysis-adequacy" not in {w.id for w in a.workup}


def test_every_missing_workup_item_says_what_it_separates() -> None:
    a = run(SSC_CKD)
    for w in a.workup:
        if w.status.value == "missing":
            assert w.separates, w.id
    assert a.next_test is not None
