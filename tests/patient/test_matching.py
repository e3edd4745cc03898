"""The free-text matcher: the same answers as the reference regex matcher, in work linear in the text."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calcinosis.patient.matching import TermMatcher, Work
from calcinosis.patient.terms import LabVocabulary, load_lab_vocabulary, load_lesion_vocabulary
from calcinosis.patient.vocabulary import load_vocabulary
from tests.patient.reference import ReferenceMatcher, reference_analyte

# A small vocabulary whose phrases overlap, nest, contain punctuation and the words a negation cue is made of.
TERMS = [
    ("kidney", "kidney"),
    ("kidney disease", "kd"),
    ("chronic kidney disease", "ckd"),
    ("CKD", "ckd"),
    ("disease", "disease"),
    ("hd", "hd"),
    ("raynaud's", "raynaud"),
    ("ca (total)", "calcium"),
    ("calcium", "calcium"),
    ("x-ray", "xray"),
    ("for", "for"),
    ("out", "out"),
    ("lupus", "sle"),
    ("lupus", "lupus"),
    ("iron", "iron"),
    ("µg", "microgram"),
    ("sıgn", "sign"),
]
ABBREVIATIONS = frozenset({"ckd", "hd"})

WORDS = [
    *(p for p, _ in TERMS),
    *("no not without denies denied absent excluded never".split()),
    *("negative for", "absence of", "free of", "ruled out"),
    *("but however butter nothing note the a nodules on x1 _".split()),
    *(".", ";", ":", ",", "(", ")", "'", "-", "/", "!"),
    *("İron", "ıron", "ſ", "µ", "μ", "K", "é", "ß", "Σ", "\u0307", "ﬅ", "2"),
]
SEPARATORS = ["", " ", " ", " ", "  ", "\n", "\t", "\u00a0", "-", ", ", ". "]
CASES = [str.lower, str.upper, str.title, str.swapcase, lambda s: s]


@st.composite
def texts(draw: st.DrawFn, words: list[str]) -> str:
    n = draw(st.integers(min_value=0, max_value=40))
    parts: list[str] = []
    for _ in range(n):
        word = draw(st.sampled_from(words))
        if draw(st.integers(0, 9)) == 0:
            word = draw(st.text(max_size=3))
        parts.append(draw(st.sampled_from(CASES))(word))
        parts.append(draw(st.sampled_from(SEPARATORS)))
    return "".join(parts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts(WORDS))
def test_small_vocabulary_matches_the_reference(text: str) -> None:
    assert TermMatcher(TERMS, ABBREVIATIONS).find(text) == ReferenceMatcher(TERMS, ABBREVIATIONS).find(text)


def _real_matchers() -> list[TermMatcher]:
    vocab, lesions = load_vocabulary(), load_lesion_vocabulary()
    return [vocab._all, *vocab._by_kind.values(), lesions.features, lesions.sites]


REAL_WORDS = sorted({p for m in _real_matchers() for p, _ in m.terms} | set(WORDS))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts(REAL_WORDS))
def test_shipped_vocabularies_match_the_reference(text: str) -> None:
    for matcher in _real_matchers():
        reference = ReferenceMatcher(list(matcher.terms), matcher.abbreviations)
        assert matcher.find(text) == reference.find(text)


LABS = load_lab_vocabulary()
LAB_SYNONYMS = [(s, t.id) for t in LABS.terms.values() for s in (*t.synonyms, t.id)]
LAB_WORDS = sorted({s for s, _ in LAB_SYNONYMS} | set(WORDS))


@settings(max_examples=300, deadline=None)
@given(texts(LAB_WORDS))
def test_lab_analyte_matches_the_reference(text: str) -> None:
    assert LABS.analyte_for_text(text) == reference_analyte(LAB_SYNONYMS, text)


def test_behaviour_kept() -> None:
    m = TermMatcher(TERMS, ABBREVIATIONS)
    assert m.find("Chronic Kidney Disease") == {"ckd"}  # longest wins and consumes its span
    assert m.find("kidneys, pre-kidney, kidney-like") == set()  # not inside a word or a hyphenated word
    assert m.find("on hd") == set() and m.find("on HD") == {"hd"}  # abbreviations only when not lower case
    assert m.find("no pain swelling or redness at all in kidney") == {"kidney"}  # cue 7 words back
    assert m.find("no pain swelling or redness at all kidney") == set()  # cue 6 words back
    assert m.find("no pain but kidney") == {"kidney"} and m.find("not this; kidney") == {"kidney"}
    assert m.find("lupus") == {"sle", "lupus"}  # a phrase listed under two keys asserts both
    assert TermMatcher([]).find("anything") == set()


BLOCK = (
    "painful firm nodules on the fingertips, not ulcerated and no history of chronic kidney disease; "
    "on hemodialysis since 2019, denies warfarin use but takes calcium carbonate and vitamin D. "
    "Violaceous plaques with necrosis over the thigh. However, no livedo and chalky discharge from an "
    "ulcerated nodule on the elbow: inflamed, warm and tender, negative for ANA, without signs of "
    "dermatomyositis or lupus. "
)


def test_doubling_the_text_at_most_doubles_the_work() -> None:
    """Counted steps (characters scanned by each pass, automaton matches, negation cursor moves), not time.

    Each text is the last one twice; the negation cursors of the doubled text also pass the few clause ends
    and words after the last match of the first copy, hence 1% of slack per doubling (a quadratic pass
    would quadruple)."""
    matchers = [*_real_matchers(), TermMatcher(TERMS, ABBREVIATIONS)]
    for matcher in matchers:
        steps = []
        for blocks in (16, 32, 64, 128, 256):  # 6 KB to 100 KB
            work = Work()
            matcher.find(BLOCK * blocks, work=work)
            assert work.steps > len(BLOCK) * blocks
            steps.append(work.steps)
        assert all(b <= 2.01 * a for a, b in pairwise(steps)), steps
        assert steps[-1] <= 16.05 * steps[0], steps
    steps = []
    for blocks in (16, 32, 64, 128):
        work = Work()
        LABS.analyte_for_text(BLOCK * blocks, work=work)
        steps.append(work.steps)
    assert all(b <= 2.01 * a for a, b in pairwise(steps)), steps


def test_lab_vocabulary_prefers_the_longest_then_the_first_listed() -> None:
    from calcinosis.patient.terms import LabTerm

    vocab = LabVocabulary(
        (
            LabTerm(id="calcium", unit="mg/dL", units={"mg/dL": 1.0}, synonyms=("ca",)),
            LabTerm(
                id="ionised-calcium", unit="mmol/L", units={"mmol/L": 1.0}, synonyms=("ionised calcium",)
            ),
            LabTerm(id="other", unit="", units={}, synonyms=("ca",)),
        )
    )
    assert vocab.analyte_for_text("Ca, ionised calcium") == "ionised-calcium"
    assert vocab.analyte_for_text("serum Ca") == "calcium"
    assert vocab.analyte_for_text("Ca-x") is None
