"""The bundled pack loads; each kind of invalid pack fails with the file and field named."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from calcinosis.errors import PackError
from calcinosis.pack import default_pack_dir, load_pack

SHARED = Path(__file__).resolve().parents[3] / "shared"


@pytest.fixture
def pack_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "pack"
    shutil.copytree(default_pack_dir(), dest)
    return dest


def edit(path: Path, fn) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text())
    fn(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def test_bundled_pack_loads_with_enough_content() -> None:
    pack = load_pack()
    assert len(pack.therapies) >= 25
    core = {"dystrophic", "metastatic", "idiopathic", "iatrogenic", "calciphylaxis"}
    assert core <= set(pack.subtypes)
    variants = {s.id for s in pack.subtypes.values() if s.kind == "variant"}
    assert len(variants) >= 7
    assert len(pack.content_hash) == 64


def test_chapter_first_line_levels_are_recorded_as_stated() -> None:
    pack = load_pack()
    stated = {
        t: pack.textbook_level(t)
        for t in ("no-treatment", "aluminium-hydroxide", "intralesional-corticosteroid", "diltiazem")
    }
    assert {k: v.value if v else None for k, v in stated.items()} == {
        "no-treatment": "E",
        "aluminium-hydroxide": "D",
        "intralesional-corticosteroid": "E",
        "diltiazem": "C",
    }


def test_level_conflict_is_recorded_when_stated_and_derived_differ() -> None:
    pack = load_pack()
    derived = pack.evidence["diltiazem"].derived
    assert derived is not None and derived.value != "C"
    conflicts = pack.evidence["diltiazem"].conflicts
    assert any("C" in p.claim for c in conflicts for p in c.positions)


def test_warfarin_is_recorded_against_with_a_conflict() -> None:
    pack = load_pack()
    warfarin = pack.therapies["low-dose-warfarin"]
    assert any(ln.line.value == "not-recommended" for ln in warfarin.lines)
    assert warfarin.conflicts, "the chapter lists it; a later review advises against it"


def test_every_identifier_in_the_pack_appears_in_shared_sources() -> None:
    path = SHARED / "knowledge" / "calcinosis-evidence.md"
    if not path.is_file():
        pytest.skip(
            f"{path} is absent (no ../shared beside the repository): cannot check identifiers against it"
        )
    dossier = path.read_text()
    pack = load_pack()
    for src in pack.sources.values():
        for ident in (src.identifiers.pmid, src.identifiers.doi, src.identifiers.pmcid):
            if ident:
                assert ident in dossier, f"{src.id}: {ident} not in the dossier"
        if not src.verified:
            assert not (
                src.identifiers.pmid or src.identifiers.doi
            ), f"{src.id}: unverified source with an identifier"


def test_identifiers_awaiting_reverification_are_withheld() -> None:
    """Dossier §10.5: PMID 35803868 (Davuluri) and the VC16 DOI stay out of the pack until re-found."""
    pack = load_pack()
    held = {"35803868", "10.1007/s40674-016-0035-x"}
    for src in pack.sources.values():
        assert not held & {src.identifiers.pmid, src.identifiers.doi}, src.id
    assert pack.sources["dav"].identifiers.pmid is None
    assert pack.sources["vc16"].identifiers.doi is None


def test_every_clinical_record_names_a_source() -> None:
    pack = load_pack()
    for t in pack.therapies.values():
        assert t.summary_sources and t.mechanism_sources
        assert all(c.sources for c in t.cautions)
        assert all(s.sources for s in t.studies)


@pytest.mark.parametrize(
    ("target", "mutate", "message"),
    [
        (
            "therapies/diltiazem.yaml",
            lambda d: d.update(colour="blue"),
            r"therapies/diltiazem\.yaml: colour: Extra inputs",
        ),
        (
            "therapies/diltiazem.yaml",
            lambda d: d["studies"][0].update(design="anecdote"),
            r"therapies/diltiazem\.yaml: studies\.0\.design",
        ),
        (
            "therapies/diltiazem.yaml",
            lambda d: d["studies"][0]["sources"][0].update(source="nobody-1999"),
            r"unknown source 'nobody-1999'",
        ),
        (
            "therapies/diltiazem.yaml",
            lambda d: d["settings"][0].update(setting="moon-base"),
            r"settings\.0\.setting: unknown setting 'moon-base'",
        ),
        (
            "therapies/diltiazem.yaml",
            lambda d: d["cautions"][1].update(when=["is-a-wizard"]),
            r"cautions\.1\.when: unknown predicate",
        ),
        ("therapies/diltiazem.yaml", lambda d: d.update(id="verapamil"), r"does not match the file name"),
        ("therapies/diltiazem.yaml", lambda d: d.update(summary_sources=[]), r"summary_sources"),
        ("pack.yaml", lambda d: d.update(last_reviewed="last week"), r"pack\.yaml: last_reviewed"),
        (
            "sources/core.yaml",
            lambda d: d["sources"][5]["identifiers"].update(pmid="12ab"),
            r"sources/core\.yaml: sources\.5\.identifiers\.pmid",
        ),
        ("sources/core.yaml", lambda d: d["sources"].append(dict(d["sources"][0])), r"duplicate id 'tb-old'"),
        (
            "rules.yaml",
            lambda d: d["rules"][0].update(all_of=["unheard-of"]),
            r"rules\.yaml: .*unknown predicate 'unheard-of'",
        ),
    ],
)
def test_invalid_pack_fails_naming_file_and_field_when(
    pack_copy: Path, target: str, mutate, message: str
) -> None:  # type: ignore[no-untyped-def]
    edit(pack_copy / target, mutate)
    with pytest.raises(PackError, match=message):
        load_pack(pack_copy)


def test_invalid_yaml_is_a_pack_error(pack_copy: Path) -> None:
    (pack_copy / "alerts.yaml").write_text("alerts: [unclosed\n")
    with pytest.raises(PackError, match=re.escape("alerts.yaml: not valid YAML")):
        load_pack(pack_copy)


def test_missing_file_is_a_pack_error(pack_copy: Path) -> None:
    (pack_copy / "workup.yaml").unlink()
    with pytest.raises(PackError, match="workup.yaml: file is missing"):
        load_pack(pack_copy)


def test_content_hash_changes_when_content_changes(pack_copy: Path) -> None:
    before = load_pack(pack_copy).content_hash
    edit(pack_copy / "pack.yaml", lambda d: d.update(version="9.9.9"))
    assert load_pack(pack_copy).content_hash != before
