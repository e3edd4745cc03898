"""Every example case is classified as the sources' rules say, with a complete trail."""

from __future__ import annotations

import pytest

from calcinosis.engine import assess
from calcinosis.patient.case_json import parse_case
from tests.conftest import example_cases, expectations, load_case

EXPECTED = expectations()


def test_every_example_has_an_expectation_and_back() -> None:
    assert {p.stem for p in example_cases()} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_is_classified_as_expected_when(name: str) -> None:
    case, issues = parse_case(load_case(name))
    a = assess(case, issues=issues)
    exp = EXPECTED[name]
    assert a.subtype.code.value == exp["code"], [r.text for r in a.subtype.reasons]
    if "variant" in exp:
        assert a.subtype.variant == exp["variant"], [r.text for r in a.subtype.reasons]
    if "confidence" in exp:
        assert a.subtype.confidence == exp["confidence"]
    if "top_any" in exp:
        top = [t.id for t in a.therapies[:3]]
        assert set(top) & set(exp["top_any"]), top
    for tid in exp.get("avoid", []):
        option = next((t for t in a.therapies if t.id == tid), None)
        assert option is not None and option.stance.value == "avoid", (tid, option and option.rationale)
    if "alerts_any" in exp:
        assert {al.severity for al in a.alerts} & set(exp["alerts_any"]), [al.text for al in a.alerts]
    for tid in exp.get("caution_for_patient", []):
        option = next(t for t in a.therapies if t.id == tid)
        assert any(c.patient_specific for c in option.cautions), tid


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_conclusion_carries_its_trail_when(name: str) -> None:
    case, issues = parse_case(load_case(name))
    a = assess(case, issues=issues)
    used = {f.id for f in a.facts_used}
    for reason in a.subtype.reasons:
        assert reason.basis.sources and reason.basis.rules
        assert set(reason.basis.facts) <= used
    for item in (*a.workup, *a.therapies, *a.alerts):
        assert item.basis.sources, item.id
        assert set(item.basis.facts) <= used
    for t in a.therapies:
        assert t.rationale and all(c.sources for c in t.cautions)
    ranks = [t.rank for t in a.therapies]
    assert ranks == list(range(1, len(ranks) + 1))
    assert a.knowledge.content_hash and a.knowledge.last_reviewed
