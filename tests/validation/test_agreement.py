"""Agreement per field and per case: the rules on hand-made assessments, and the real engine on hand-made corpora."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from calcinosis import assess, parse_case
from calcinosis.pack import KnowledgePack
from calcinosis.validation import Expectation, judge, load_corpus, validate_corpus
from tests.validation.corpus_helpers import entry, write


def _exp(**fields: Any) -> Expectation:
    base: dict[str, Any] = {"written": "2026-12-05", "basis": "test", "subtype": "dystrophic"}
    base.update(fields)
    return Expectation.model_validate(base)


ASSESSMENT: dict[str, Any] = {
    "subtype": {"code": "dystrophic", "variant": "calcinosis-circumscripta"},
    "therapies": [
        {"id": "minocycline", "rank": 1, "stance": "recommended"},
        {"id": "diltiazem", "rank": 2, "stance": "consider"},
        {"id": "low-dose-warfarin", "rank": 3, "stance": "avoid"},
    ],
    "workup": [
        {"id": "serum-calcium", "status": "done"},
        {"id": "intact-pth", "status": "missing"},
        {"id": "serum-phosphate", "status": "abnormal"},
    ],
}


def _by_field(exp: Expectation, assessment: dict[str, Any] = ASSESSMENT) -> dict[str, Any]:
    return {f.field: f for f in judge(exp, assessment)}


def test_every_field_agrees_when_the_engine_says_what_the_sources_say() -> None:
    got = _by_field(
        _exp(
            variant="calcinosis-circumscripta",
            must_include=["diltiazem", "minocycline"],
            must_avoid=["low-dose-warfarin", "parathyroidectomy"],
            top_option=["minocycline", "diltiazem"],
            workup_missing=["intact-pth"],
            workup_not=["serum-calcium", "dialysis-adequacy", "serum-phosphate"],
        )
    )
    assert all(f.judged and f.agreed and not f.reasons for f in got.values())
    assert (got["must_avoid"].items_judged, got["must_avoid"].items_agreed) == (2, 2)
    assert (got["workup_not"].items_judged, got["workup_not"].items_agreed) == (3, 3)


def test_empty_lists_and_two_null_variants_are_not_judged() -> None:
    got = _by_field(
        _exp(), {"subtype": {"code": "dystrophic", "variant": None}, "therapies": [], "workup": []}
    )
    assert got["subtype"].judged and got["subtype"].agreed
    assert [name for name, f in got.items() if f.judged] == ["subtype"]


def test_variant_is_judged_when_only_the_engine_gives_one() -> None:
    got = _by_field(_exp(variant=None))
    assert got["variant"].judged and not got["variant"].agreed
    assert got["variant"].reasons == ("expected no variant, engine said calcinosis-circumscripta",)


def test_each_disagreement_says_what_was_expected_and_what_the_engine_said() -> None:
    got = _by_field(
        _exp(
            subtype="metastatic",
            variant="tumoral-calcinosis",
            must_include=["low-dose-warfarin", "cinacalcet", "diltiazem"],
            must_avoid=["minocycline", "low-dose-warfarin"],
            top_option=["diltiazem"],
            workup_missing=["serum-calcium", "ct"],
            workup_not=["intact-pth"],
        )
    )
    assert got["subtype"].reasons == ("expected metastatic, engine said dystrophic",)
    assert got["variant"].reasons == ("expected tumoral-calcinosis, engine said calcinosis-circumscripta",)
    assert got["must_include"].reasons == (
        "low-dose-warfarin: expected as an option, engine listed it as avoid (rank 3)",
        "cinacalcet: expected as an option, engine did not list it",
    )
    assert (got["must_include"].items_judged, got["must_include"].items_agreed) == (3, 1)
    assert got["must_avoid"].reasons == (
        "minocycline: expected absent or avoid, engine said recommended (rank 1)",
    )
    assert got["top_option"].reasons == ("expected one of diltiazem first, engine ranked minocycline first",)
    assert got["workup_missing"].reasons == (
        "serum-calcium: expected as missing, engine said done",
        "ct: expected as missing, engine did not list it",
    )
    assert got["workup_not"].reasons == ("intact-pth: expected not requested, engine listed it as missing",)
    assert not any(f.agreed for f in got.values())


def test_top_option_follows_rank_not_list_order_and_no_option_disagrees() -> None:
    shuffled = dict(ASSESSMENT, therapies=list(reversed(ASSESSMENT["therapies"])))
    assert _by_field(_exp(top_option=["minocycline"]), shuffled)["top_option"].agreed
    empty = {"subtype": {"code": "dystrophic"}, "therapies": [], "workup": []}
    top = _by_field(_exp(top_option=["minocycline"]), empty)["top_option"]
    assert not top.agreed and "engine ranked nothing first" in top.reasons[0]


def test_an_assessment_without_a_subtype_disagrees_with_every_expected_code() -> None:
    got = _by_field(_exp(subtype="undetermined"), {"therapies": [], "workup": []})
    assert not got["subtype"].agreed
    assert got["subtype"].reasons == ("expected undetermined, engine said no subtype",)


def _engine_view(data: dict[str, Any], pack: KnowledgePack) -> dict[str, Any]:
    case, issues = parse_case(data["case"])
    result: dict[str, Any] = assess(case, pack, issues=issues).model_dump(mode="json")
    return result


def test_real_engine_on_an_agreeing_and_a_deliberately_disagreeing_case(
    tmp_path: Path, pack: KnowledgePack
) -> None:
    """Expectations are taken from one real engine run, so the test holds whatever the engine concludes."""
    probe = entry("probe")
    seen = _engine_view(probe, pack)
    code = seen["subtype"]["code"]
    ranked = sorted(seen["therapies"], key=lambda t: t["rank"])
    usable = [t["id"] for t in ranked if t["stance"] != "avoid"]
    listed = {t["id"] for t in ranked}
    absent = sorted(set(pack.therapies) - listed)
    missing = sorted(w["id"] for w in seen["workup"] if w["status"] == "missing")
    not_missing = sorted(set(pack.workup) - set(missing))
    assert len(usable) >= 2 and absent and missing and not_missing, "the probe must give a usable assessment"
    other_code = "idiopathic" if code != "idiopathic" else "metastatic"

    write(
        tmp_path,
        entry(
            "agreeing",
            subtype=code,
            variant=seen["subtype"]["variant"],
            must_include=usable[:2],
            must_avoid=absent[:2],
            top_option=[ranked[0]["id"]],
            workup_missing=missing[:2],
            workup_not=not_missing[:1],
        ),
    )
    write(
        tmp_path,
        entry(
            "disagreeing",
            subtype=other_code,
            variant=seen["subtype"]["variant"],
            must_include=[usable[1], absent[0]],
            must_avoid=[usable[0]],
            top_option=[absent[0]],
            workup_missing=[not_missing[0]],
            workup_not=[missing[0]],
        ),
    )
    report = validate_corpus(load_corpus(tmp_path, pack), pack)

    assert report.cases == 2 and [r.id for r in report.results] == ["agreeing", "disagreeing"]
    agreeing, disagreeing = report.results
    assert not agreeing.disagreeing
    assert agreeing.engine_subtype == code == disagreeing.engine_subtype
    bad = {f.field for f in disagreeing.disagreeing}
    assert bad == {"subtype", "must_include", "must_avoid", "top_option", "workup_missing", "workup_not"}

    fields = {f.field: f for f in report.fields}
    for name in ("subtype", "must_include", "must_avoid", "top_option", "workup_missing", "workup_not"):
        assert (fields[name].judged, fields[name].agreed, fields[name].percent) == (2, 1, 50.0), name
    assert (fields["must_include"].items_judged, fields["must_include"].items_agreed) == (
        len(usable[:2]) + 2,
        len(usable[:2]) + 1,
    )
    assert (fields["must_avoid"].items_judged, fields["must_avoid"].items_agreed) == (
        len(absent[:2]) + 1,
        len(absent[:2]),
    )
    variant_judged = 0 if seen["subtype"]["variant"] is None else 2
    assert (fields["variant"].judged, fields["variant"].agreed) == (variant_judged, variant_judged)
    assert disagreeing.fields[0].reasons == (f"expected {other_code}, engine said {code}",)
