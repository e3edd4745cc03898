"""Every output of every example input equals its reviewed golden file (``make golden`` rewrites them).

A failure prints a unified diff: a change in wording, order or content of any output shows here, to be
reviewed and accepted with ``make golden`` or fixed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.golden.produce import (
    Example,
    Producer,
    differences,
    examples,
    normalise,
    orphans,
    prefetch_of,
    stored,
)

EXAMPLES = examples()


@pytest.fixture(scope="module")
def producer() -> Iterator[Producer]:
    with Producer() as p:
        yield p


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.key for e in EXAMPLES])
def test_every_output_equals_its_golden_file(example: Example, producer: Producer) -> None:
    problem = differences(example, producer.outputs(example))
    if problem is not None:
        pytest.fail(problem, pytrace=False)


def test_every_example_of_both_kinds_is_pinned_and_no_golden_folder_is_left_over() -> None:
    kinds = {e.kind for e in EXAMPLES}
    assert kinds == {"cases", "fhir"}
    assert orphans() == [], "golden folders without an example: run `make golden`"
    for e in EXAMPLES:
        names = set(stored(e))
        expected = {"assessment.json", "assessment.md", "assessment.txt", "guidance.json", "result.html"}
        assert names >= expected, f"{e.key}: run `make golden`"
        assert ("cards.json" in names) == (e.kind == "fhir"), e.key


def test_a_changed_word_is_reported_as_a_diff_naming_the_file_and_make_golden(producer: Producer) -> None:
    example = EXAMPLES[0]
    outputs = producer.outputs(example)
    outputs["assessment.md"] = outputs["assessment.md"].replace("Work-up", "Workup", 1)
    problem = differences(example, outputs)
    assert problem is not None
    assert f"tests/golden/{example.key}/assessment.md" in problem
    assert "-## Work-up" in problem and "+## Workup" in problem
    assert "make golden" in problem
    del outputs["result.html"]
    assert "no longer produced" in (differences(example, outputs) or "")


def test_normalising_keeps_references_apart_and_hides_only_volatile_values() -> None:
    pack_hash = "ab" * 32
    text = (
        '"a": "urn:uuid:0F8FAD5B-D9CB-469F-A165-70867728950E", "b": "0f8fad5b-d9cb-469f-a165-70867728950e", '
        f'"c": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "hash": "{pack_hash}", short {pack_hash[:12]}, '
        f'input {"cd" * 32}, generated 2026-12-05 18:12 UTC, on 2026-12-05, age 54'
    )
    assert normalise(text, pack_hash) == (
        '"a": "urn:uuid:<uuid-1>", "b": "<uuid-1>", "c": "<uuid-2>", "hash": "<pack-hash>", '
        "short <pack-hash-short>, input <sha256>, generated <generated>, on 2026-12-05, age 54"
    )


def test_the_prefetch_holds_each_resource_under_its_query_with_server_references() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient", "id": "pt"}},
            {
                "fullUrl": "urn:uuid:c1",
                "resource": {"resourceType": "Condition", "subject": {"reference": "urn:uuid:p1"}},
            },
            {"resource": {"resourceType": "Observation", "id": "o1", "valueQuantity": {"value": 1}}},
            {
                "resource": {
                    "resourceType": "Observation",
                    "id": "o2",
                    "category": [{"coding": [{"code": "exam"}]}],
                }
            },
            {"resource": {"resourceType": "MedicationStatement", "id": "ms"}},
        ],
    }
    pid, prefetch = prefetch_of(bundle)
    assert pid == "pt"
    condition = prefetch["conditions"]["entry"][0]["resource"]
    assert condition == {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/pt"}}
    assert [e["resource"]["id"] for e in prefetch["labs"]["entry"]] == ["o1"]
    assert [e["resource"]["id"] for e in prefetch["findings"]["entry"]] == ["o2"]
    assert prefetch["medications"]["entry"] == []  # no query of ours returns a MedicationStatement
