"""The chapter's A–E rule as a pure function: examples from the chapter's definitions and properties."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from calcinosis.pack.levels import derive_level, derive_study_level
from calcinosis.pack.models import Blinding, EvidenceLevel, SourceRef, Study, StudyDesign

REF = (SourceRef(source="tb-old"),)


def study(
    design: StudyDesign, n: int | None = None, blinding: Blinding = Blinding.UNKNOWN, verified: bool = True
) -> Study:
    return Study(
        id="s",
        label="s",
        design=design,
        n=n,
        blinding=blinding,
        population="p",
        outcome="o",
        verified=verified,
        sources=REF,
    )


def test_level_is_a_when_trial_is_double_blind() -> None:
    assert derive_study_level(study(StudyDesign.RCT, 8, Blinding.DOUBLE)) is EvidenceLevel.A


def test_level_is_b_when_trial_has_twenty_or_more() -> None:
    assert derive_study_level(study(StudyDesign.OPEN_TRIAL, 20)) is EvidenceLevel.B
    assert derive_study_level(study(StudyDesign.OPEN_TRIAL, 19)) is EvidenceLevel.C


def test_level_is_d_when_series_has_five_or_more() -> None:
    assert derive_study_level(study(StudyDesign.CASE_SERIES, 5)) is EvidenceLevel.D
    assert derive_study_level(study(StudyDesign.CASE_SERIES, 4)) is EvidenceLevel.E
    assert derive_study_level(study(StudyDesign.COHORT, 17)) is EvidenceLevel.D


def test_level_is_e_when_case_report() -> None:
    assert derive_study_level(study(StudyDesign.CASE_REPORT, 1)) is EvidenceLevel.E


def test_level_is_none_when_trial_size_and_blinding_unknown() -> None:
    assert derive_study_level(study(StudyDesign.RCT)) is None
    assert derive_level([study(StudyDesign.RCT)]) is None


def test_unverified_studies_do_not_count() -> None:
    assert derive_level([study(StudyDesign.RCT, 50, Blinding.DOUBLE, verified=False)]) is None


def test_reviews_and_surveys_give_no_level() -> None:
    assert derive_level([study(StudyDesign.REVIEW, 300), study(StudyDesign.SURVEY, 100)]) is None


studies = st.builds(
    study,
    st.sampled_from(list(StudyDesign)),
    st.one_of(st.none(), st.integers(min_value=1, max_value=5000)),
    st.sampled_from(list(Blinding)),
    st.booleans(),
)


@given(st.lists(studies, max_size=8))
def test_overall_level_is_the_best_single_study_level(items: list[Study]) -> None:
    levels = [lvl for s in items if (lvl := derive_study_level(s)) is not None]
    assert derive_level(items) == (min(levels) if levels else None)


@given(st.lists(studies, max_size=6), studies)
def test_adding_a_study_never_lowers_the_level(items: list[Study], extra: Study) -> None:
    before = derive_level(items)
    after = derive_level([*items, extra])
    if before is not None:
        assert after is not None and after <= before


@given(
    st.integers(min_value=1, max_value=10_000),
    st.sampled_from([StudyDesign.RCT, StudyDesign.CONTROLLED_TRIAL, StudyDesign.OPEN_TRIAL]),
)
def test_trial_threshold_is_twenty(n: int, design: StudyDesign) -> None:
    expected = EvidenceLevel.B if n >= 20 else EvidenceLevel.C
    assert derive_study_level(study(design, n, Blinding.OPEN)) is expected
