"""The shared vocabulary API: codings and text to concept ids."""

from __future__ import annotations

import pytest

from calcinosis.patient.codes import concepts_for_coding, concepts_in_text, load_vocabulary


@pytest.mark.parametrize(
    ("system", "code", "expected"),
    [
        ("http://hl7.org/fhir/sid/icd-10-cm", "L94.2", {"calcinosis-cutis"}),
        ("http://hl7.org/fhir/sid/icd-10-cm", "m34.1", {"limited-systemic-sclerosis", "systemic-sclerosis"}),
        ("urn:oid:2.16.840.1.113883.6.90", "N18.4", {"ckd"}),
        ("icd-10-cm", "Z99.2", {"dialysis"}),
        ("http://www.nlm.nih.gov/research/umls/rxnorm", "11289", {"warfarin"}),
        ("http://snomed.info/sct", "302497006", {"haemodialysis"}),
        ("http://hl7.org/fhir/sid/icd-10-cm", "M33.2", set()),  # polymyositis: not dermatomyositis
        ("http://example.org/local", "L94.2", set()),
    ],
)
def test_concepts_for_coding_when_the_code_is_listed_or_not(
    system: str, code: str, expected: set[str]
) -> None:
    assert concepts_for_coding(system, code) == expected


def test_concepts_in_text_prefers_the_longest_phrase() -> None:
    assert concepts_in_text("Limited cutaneous systemic sclerosis") == {"limited-systemic-sclerosis"}


def test_concepts_in_text_filters_by_kind() -> None:
    text = "calcium gluconate extravasation"
    assert concepts_in_text(text, "event") == {"iv-calcium-extravasation"}
    assert concepts_in_text("calcium gluconate", "medication") == {"iv-calcium-medication"}


def test_short_abbreviations_match_only_when_not_written_in_lower_case() -> None:
    assert concepts_in_text("SSc with digital ulcers") == {"systemic-sclerosis"}
    assert concepts_in_text("ssc") == set()


def test_most_specific_drops_concepts_implied_by_another() -> None:
    v = load_vocabulary()
    assert v.most_specific({"esrd", "ckd", "sle", "lupus"}) == ["esrd", "sle"]
    assert v.implied({"limited-systemic-sclerosis"}) == {"limited-systemic-sclerosis", "systemic-sclerosis"}


def test_unit_spellings_include_the_ucum_code_and_its_aliases() -> None:
    spellings = load_vocabulary().unit_spellings("mg/(24.h)")
    assert spellings[0] == "mg/(24.h)" and "mg/24h" in spellings
