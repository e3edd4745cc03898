"""The corpus loader rejects bad files with one clear message naming the file and the field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from calcinosis.errors import EXIT_BAD_INPUT
from calcinosis.validation import CorpusError, load_corpus
from tests.validation.corpus_helpers import PUBLISHED, entry, write


def _reject(tmp_path: Path, data: dict[str, Any] | str, pattern: str, name: str = "bad-case") -> None:
    if isinstance(data, str):
        tmp_path.mkdir(parents=True, exist_ok=True)
        (tmp_path / f"{name}.yaml").write_text(data, encoding="utf-8")
    else:
        write(tmp_path, data, name)
    with pytest.raises(CorpusError, match=pattern) as info:
        load_corpus(tmp_path)
    assert "\n" not in str(info.value)
    assert info.value.exit_code == EXIT_BAD_INPUT


def test_a_valid_hand_made_file_loads(tmp_path: Path) -> None:
    write(tmp_path, entry("good-case", must_avoid=["low-dose-warfarin"]))
    corpus = load_corpus(tmp_path)
    assert [c.entry.id for c in corpus.cases] == ["good-case"]
    assert corpus.cases[0].case.age_years == 54
    assert corpus.notes == ()


def test_missing_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"nowhere: corpus directory not found"):
        load_corpus(tmp_path / "nowhere")


def test_a_file_is_not_a_corpus_directory(tmp_path: Path) -> None:
    path = write(tmp_path, entry("one"))
    with pytest.raises(CorpusError, match=r"not a directory"):
        load_corpus(path)


def test_empty_directory_has_no_case_files(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("not a case")
    with pytest.raises(CorpusError, match=r"no case files"):
        load_corpus(tmp_path)


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    _reject(tmp_path, "id: bad-case\nreport: [unclosed\n", r"^bad-case\.yaml: not valid YAML \(line \d+\)")


def test_unknown_field_in_expectation(tmp_path: Path) -> None:
    data = entry("bad-case")
    data["expectation"]["must_avoids"] = ["low-dose-warfarin"]
    _reject(tmp_path, data, r"^bad-case\.yaml: expectation\.must_avoids: unknown field$")


def test_unknown_field_in_report_identifiers(tmp_path: Path) -> None:
    data = entry("bad-case")
    data["report"]["identifiers"]["pubmed"] = "123"
    _reject(tmp_path, data, r"^bad-case\.yaml: report\.identifiers\.pubmed: unknown field$")


def test_unknown_top_level_field(tmp_path: Path) -> None:
    data = entry("bad-case")
    data["notes"] = "stray"
    _reject(tmp_path, data, r"^bad-case\.yaml: notes: unknown field$")


def test_missing_required_field(tmp_path: Path) -> None:
    data = entry("bad-case")
    del data["report"]["identifiers"]["url"]
    _reject(tmp_path, data, r"^bad-case\.yaml: report\.identifiers\.url: required field is missing$")


def test_unknown_subtype_code(tmp_path: Path) -> None:
    _reject(tmp_path, entry("bad-case", subtype="dystrophy"), r"^bad-case\.yaml: expectation\.subtype: ")


def test_unknown_field_in_the_case_block(tmp_path: Path) -> None:
    data = entry("bad-case")
    data["case"]["lesions"][0]["sites"] = "finger"
    _reject(tmp_path, data, r"^bad-case\.yaml: case\.lesions\[0\]\.sites: unknown field$")


def test_wrong_type_in_the_case_block(tmp_path: Path) -> None:
    data = entry("bad-case")
    data["case"]["age_years"] = "fifty"
    _reject(tmp_path, data, r"^bad-case\.yaml: case\.age_years: ")


def test_id_must_equal_file_name(tmp_path: Path) -> None:
    _reject(tmp_path, entry("other-id"), r"^bad-case\.yaml: id: 'other-id' must equal the file name")


def test_unknown_therapy_id(tmp_path: Path) -> None:
    _reject(
        tmp_path,
        entry("bad-case", must_avoid=["warfarin"]),
        r"^bad-case\.yaml: expectation\.must_avoid: unknown therapy id 'warfarin'$",
    )


def test_unknown_workup_id(tmp_path: Path) -> None:
    _reject(
        tmp_path,
        entry("bad-case", workup_missing=["calcium"]),
        r"^bad-case\.yaml: expectation\.workup_missing: unknown work-up item id 'calcium'$",
    )


def test_unknown_variant_id(tmp_path: Path) -> None:
    _reject(
        tmp_path,
        entry("bad-case", variant="circumscripta"),
        r"^bad-case\.yaml: expectation\.variant: unknown variant id 'circumscripta'",
    )


def test_a_core_subtype_is_not_a_variant(tmp_path: Path) -> None:
    _reject(tmp_path, entry("bad-case", variant="dystrophic"), r"unknown variant id 'dystrophic'")


def test_an_id_cannot_be_both_included_and_avoided(tmp_path: Path) -> None:
    _reject(
        tmp_path,
        entry("bad-case", must_include=["diltiazem"], must_avoid=["diltiazem"]),
        r"'diltiazem' is both in must_include and must_avoid",
    )


def test_first_bad_file_stops_the_load(tmp_path: Path) -> None:
    write(tmp_path, entry("a-good-case"))
    write(tmp_path, entry("b-bad-case", must_include=["not-a-therapy"]))
    with pytest.raises(CorpusError, match=r"^b-bad-case\.yaml: "):
        load_corpus(tmp_path)


def test_the_published_corpus_loads_and_records_its_sources() -> None:
    corpus = load_corpus(PUBLISHED)
    files = sorted(p.name for p in PUBLISHED.glob("*.yaml"))
    assert [c.file for c in corpus.cases] == files
    for loaded in corpus.cases:
        ref = loaded.entry.report
        assert re.match(r"^https?://", ref.identifiers.url), loaded.file
        assert ref.facts_seen.strip() and loaded.entry.expectation.basis.strip(), loaded.file
        assert loaded.case.lesions or loaded.case.conditions, loaded.file
