"""Clinical safety invariants over generated patients (hypothesis). Each property is a rule of the sources that
must hold whatever the patient: contraindicated options never lead, kidney disease alone never makes a
metastatic call over a specific finding, parathyroidectomy needs established hyperparathyroidism, a child's
labs are never judged abnormal on adult intervals, alerts cite what triggered them, no calcinosis means no
subtype and no therapy.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calcinosis.engine import Stance, assess
from calcinosis.engine.facts import build_view
from calcinosis.engine.predicates import evaluate
from calcinosis.pack import load_pack_cached
from calcinosis.patient.case_json import parse_case

CONDITIONS = [
    "limited cutaneous systemic sclerosis",
    "juvenile dermatomyositis",
    "systemic lupus erythematosus",
    "end-stage renal disease",
    "chronic kidney disease stage 3",
    "multiple myeloma",
    "primary hyperparathyroidism",
    "secondary hyperparathyroidism",
    "Down syndrome",
    "calciphylaxis",
    "liver transplant",
    "sarcoidosis",
    "acute kidney injury",
    "tumoral calcinosis",
]
HISTORY = [
    {"text": "hemodialysis"},
    {"text": "calcium gluconate infusion", "site": "left hand", "date": "2026-01-05"},
    {"text": "calcium gluconate extravasation", "site": "right forearm", "date": "2026-02-20"},
    {"text": "heel sticks", "site": "heel"},
    {"text": "surgical scar", "site": "knee"},
    {"text": "skin biopsy", "result": "arteriolar calcification"},
]
MEDICATIONS = [
    "warfarin",
    "methotrexate",
    "minocycline",
    "diltiazem",
    "colchicine",
    "calcium carbonate",
    "calcitriol",
    "aluminium hydroxide",
    "ceftriaxone",
    "cinacalcet",
    "mycophenolate",
    "calcium gluconate IV infusion",
]
SITES = [
    "left hand",
    "fingertips",
    "thigh",
    "abdomen",
    "scrotum",
    "elbow",
    "heel",
    "knee",
    "face",
    "right forearm",
]
FEATURES = [
    "painful",
    "ulcerated",
    "discharging",
    "red",
    "warm",
    "infected",
    "retiform purpura",
    "necrotic",
    "milia-like",
    "nodule",
    "plaque",
    "widespread",
    "indurated",
    "contracture",
    "fever",
]

labs = st.fixed_dictionaries(
    {},
    optional={
        "calcium": st.one_of(st.floats(6.0, 15.0), st.sampled_from(["N", "H", "L"])),
        "phosphate": st.one_of(st.floats(1.5, 11.0), st.sampled_from(["N", "H"])),
        "pth": st.one_of(st.floats(5, 900), st.sampled_from(["N", "H"])),
        "egfr": st.floats(5, 130),
        "albumin": st.floats(1.5, 5.0),
        "alp": st.floats(30, 700),
    },
)
UNITS = {"calcium": "mg/dL", "phosphate": "mg/dL", "pth": "pg/mL", "egfr": "mL/min/1.73m2", "albumin": "g/dL"}
UNITS["alp"] = "U/L"


@st.composite
def patients(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {"as_of": "2026-06-01"}
    age = draw(st.one_of(st.none(), st.floats(0.0, 0.08), st.floats(0.08, 17.9), st.floats(18, 95)))
    if age is not None:
        data["age_years"] = age
    data["sex"] = draw(st.sampled_from(["female", "male", "unknown"]))
    if data["sex"] == "female" and draw(st.booleans()):
        data["pregnant"] = True
    if draw(st.booleans()):
        data["breastfeeding"] = draw(st.booleans())
    data["conditions"] = draw(st.lists(st.sampled_from(CONDITIONS), max_size=3, unique=True))
    data["history"] = draw(st.lists(st.sampled_from(HISTORY), max_size=3, unique_by=lambda h: h["text"]))
    data["medications"] = [
        {"name": m} for m in draw(st.lists(st.sampled_from(MEDICATIONS), max_size=3, unique=True))
    ]
    lab_values = draw(labs)
    data["labs"] = [
        {"analyte": k, "interpretation": v}
        if isinstance(v, str)
        else {"analyte": k, "value": round(v, 2), "unit": UNITS[k]}
        for k, v in lab_values.items()
    ]
    lesions = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "site": st.sampled_from(SITES),
                    "features": st.lists(st.sampled_from(FEATURES), max_size=4, unique=True),
                },
                optional={
                    "count": st.integers(1, 30),
                    "onset": st.sampled_from(["2026-01-20", "2026-03-01"]),
                },
            ),
            max_size=3,
        )
    )
    data["lesions"] = lesions
    return data


SPECIFIC = {
    "r2-iatrogenic",
    "r6-dystrophic-ctd",
    "r7-dystrophic-local",
    "r8-scrotal",
    "r9-milia-like",
    "r9a-milia-like-down",
}
PROPERTY = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(patients())
def test_no_contraindicated_option_above_a_usable_one(data: dict[str, Any]) -> None:
    case, issues = parse_case(data)
    a = assess(case, issues=issues)
    seen_avoid = False
    for option in a.therapies:
        if option.stance is Stance.AVOID:
            seen_avoid = True
        else:
            assert not seen_avoid, f"{option.id} ({option.stance}) ranked below an avoided option"
        contraindicated = any(
            c.patient_specific and c.severity == "contraindication" for c in option.cautions
        )
        if contraindicated:
            assert option.stance is Stance.AVOID, option.id


@PROPERTY
@given(patients())
def test_no_metastatic_first_call_without_derangement_when_a_specific_rule_matches(
    data: dict[str, Any],
) -> None:
    case, issues = parse_case(data)
    a = assess(case, issues=issues)
    view = build_view(case, load_pack_cached())
    specific = {f.rule for c in a.differential for f in c.supporting} & SPECIFIC
    # A diagnosis the clinician recorded is followed (with what argues against it shown), so it is exempt.
    if specific and not evaluate("mineral-derangement-real", view).holds and not a.subtype.follows_record:
        assert a.subtype.code.value != "metastatic", specific


@PROPERTY
@given(patients())
def test_no_parathyroidectomy_above_consider_without_established_hyperparathyroidism(
    data: dict[str, Any],
) -> None:
    case, issues = parse_case(data)
    a = assess(case, issues=issues)
    view = build_view(case, load_pack_cached())
    for option in a.therapies:
        if option.id == "parathyroidectomy":
            assert option.stance is not Stance.RECOMMENDED
            if not evaluate("established-hyperparathyroidism", view).holds:
                assert option.stance is Stance.AVOID


@PROPERTY
@given(patients())
def test_no_adult_interval_abnormality_in_a_child(data: dict[str, Any]) -> None:
    case, _ = parse_case(data)
    view = build_view(case, load_pack_cached())
    if view.age_years is None or view.age_years >= 18:
        return
    for lv in view.labs.values():
        if "default reference interval" in lv.flag_basis or "adult" in lv.flag_basis:
            assert lv.flag in ("N", "U", None), (lv.analyte, lv.flag, lv.flag_basis)
    for name in ("hyperphosphataemia", "hypercalcaemia", "cap-product-high"):
        finding = evaluate(name, view)
        if finding.holds:
            lv = [x for x in view.labs.values() if x.fact in finding.facts]
            assert all("reported" in x.flag_basis or "interval (site" in x.flag_basis for x in lv), name


@PROPERTY
@given(patients())
def test_every_alert_trigger_is_present_in_the_facts_it_cites(data: dict[str, Any]) -> None:
    case, issues = parse_case(data)
    a = assess(case, issues=issues)
    pack = load_pack_cached()
    view = build_view(case, pack)
    used = {f.id for f in a.facts_used}
    by_id = {al.id: al for al in pack.alerts}
    for alert in a.alerts:
        assert alert.basis.facts, alert.id
        assert set(alert.basis.facts) <= used, alert.id
        if alert.id in by_id:
            for trigger in by_id[alert.id].trigger:
                finding = evaluate(trigger, view)
                assert finding.holds, (alert.id, trigger)
                assert {f.id for f in finding.facts} <= set(alert.basis.facts), (alert.id, trigger)


@PROPERTY
@given(patients())
def test_no_calcinosis_no_subtype_and_no_therapy(data: dict[str, Any]) -> None:
    data = {**data, "lesions": [], "history": [h for h in data["history"] if "biopsy" not in h["text"]]}
    data["conditions"] = [c for c in data["conditions"] if c not in ("calciphylaxis", "tumoral calcinosis")]
    case, issues = parse_case(data)
    a = assess(case, issues=issues)
    assert not a.calcinosis.recorded
    assert a.subtype.code.value == "undetermined"
    assert a.therapies == ()
    assert a.differential == ()
