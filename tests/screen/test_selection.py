"""Who is screened: tables derived from the vocabulary, matched the same way in DuckDB and Python."""

from __future__ import annotations

import re

import duckdb
import pytest

from calcinosis.errors import PackError
from calcinosis.patient.codes import load_vocabulary, normalise_code
from calcinosis.screen.selection import (
    Population,
    PopulationEntry,
    derive_selection,
    load_selection,
    matches_text,
    read_population,
)


def test_population_concepts_all_exist_in_the_vocabulary_when_loaded() -> None:
    vocabulary = load_vocabulary()
    for entry in read_population().population:
        assert entry.concept in vocabulary.concepts, entry.concept
        assert entry.why.strip()


def test_unknown_population_concept_is_a_pack_error_when_derived() -> None:
    population = Population(population=(PopulationEntry(concept="no-such-concept", why="test"),))
    with pytest.raises(PackError, match="no-such-concept"):
        derive_selection(load_vocabulary(), population)


def test_every_code_the_reader_maps_to_a_population_concept_is_selected_when_coded() -> None:
    vocabulary = load_vocabulary()
    selection = load_selection()
    wanted = set(selection.concepts)
    keys = set(selection.keys)
    hierarchical = {s.id: s.hierarchical for s in vocabulary.code_sets.systems}
    uri = {s.id: s.uri for s in vocabulary.code_sets.systems}
    checked = 0
    for set_id, entries in vocabulary.code_sets.codes.items():
        for entry in entries:
            read = vocabulary.concepts_for_coding(uri[set_id], entry.code)
            selected = (set_id, normalise_code(entry.code, hierarchical[set_id])) in keys
            assert selected == bool(read & wanted), (set_id, entry.code, read)
            checked += 1
    assert checked > 50
    # Background codes of a general population are not screened for.
    for system, code in [("icd-10-cm", "I10"), ("icd-10-cm", "E11.9"), ("rxnorm", "6809")]:
        assert not vocabulary.concepts_for_coding(uri[system], code) & wanted


def test_descendant_codes_are_selected_through_their_family_when_deeper() -> None:
    selection = load_selection()
    assert ("icd-10-cm", "N18") in selection.families
    assert ("icd-10-cm", "M34") in selection.families
    assert ("icd-10-cm", "I10") not in selection.keys


def test_text_pattern_agrees_in_duckdb_and_python_when_matching_names() -> None:
    selection = load_selection()
    assert selection.text_pattern is not None
    vocabulary = load_vocabulary()
    names = [s for c in selection.concepts for s in vocabulary.concepts[c].synonyms]
    texts = [
        *names,
        *(f"History: {n.upper()}, stable." for n in names),
        "Essential hypertension",
        "Type 2 diabetes mellitus",
        "calcinosisx",
        "pre-dialysis? no",
        "",
    ]
    with duckdb.connect() as con:
        rows = con.execute(
            "SELECT t, regexp_matches(t, ?) FROM unnest(?::VARCHAR[]) AS u(t)",
            [selection.text_pattern, texts],
        ).fetchall()
    in_duckdb = dict(rows)
    for text in texts:
        assert in_duckdb[text] == matches_text(selection, text), text
    assert all(matches_text(selection, n) for n in names)
    assert not matches_text(selection, "Essential hypertension")
    assert not matches_text(selection, "calcinosisx")


def test_text_test_is_a_superset_of_the_readers_when_names_are_abbreviated() -> None:
    selection = load_selection()
    vocabulary = load_vocabulary()
    for text in ["CKD stage 4", "ckd", "ESRD on HD", "Calciphylaxis", "Limited cutaneous SSc"]:
        read = vocabulary.concepts_in_text(text)
        if vocabulary.implied(read) & set(selection.concepts):
            assert matches_text(selection, text), text
    assert re.search(selection.text_pattern or "", "CKD stage 4")


@pytest.mark.parametrize(
    ("code", "concept"),
    [
        # synthetichealth/synthea src/main/resources/modules/metabolic_syndrome/kidney_conditions.json
        ("431855005", "ckd"),
        ("431856006", "ckd"),
        ("433144002", "ckd"),
        ("431857002", "ckd"),
        ("46177005", "esrd"),
        # synthetichealth/synthea src/main/resources/modules/dialysis.json
        ("265764009", "dialysis"),
    ],
)
def test_snomed_codes_synthea_writes_for_kidney_disease_and_dialysis_are_selected(
    code: str, concept: str
) -> None:
    vocabulary = load_vocabulary()
    assert concept in vocabulary.concepts_for_coding("http://snomed.info/sct", code)
    assert ("snomed-ct", code) in set(load_selection().keys)


def test_extravasation_codes_select_and_sodium_thiosulfate_administrations_are_read() -> None:
    selection = load_selection()
    assert ("icd-10-cm", "T8081") in selection.families
    assert matches_text(selection, "Sodium thiosulfate 250 MG/ML Injectable Solution")
