"""labels.yaml: drug-label facts for pregnancy, lactation, children and severe renal impairment.

The data are checked against ``../shared/knowledge/drug-labels.md`` (skipped when it is absent): every row
and cell is present, every fact cites its row's URLs, "(sec.)" cells stay secondary, marks carry over, and
the text is paraphrase. Bad files are rejected naming the field.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from calcinosis.errors import PackError
from calcinosis.pack import KnowledgePack, default_pack_dir
from calcinosis.pack.labels import (
    LabelBook,
    LabelContext,
    LabelRegion,
    LabelStatement,
    LabelTrust,
    load_label_book,
    preference,
)
from calcinosis.pack.models import SourceKind, Trust

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
LABELS_MD = SHARED / "knowledge" / "drug-labels.md"
SOURCES_FILE = default_pack_dir() / "sources" / "labels.yaml"
CONTEXT_COLUMNS = (
    LabelContext.PREGNANCY,
    LabelContext.LACTATION,
    LabelContext.CHILD,
    LabelContext.SEVERE_RENAL_IMPAIRMENT,
)
# A URL letter inside a cell's closing parentheses: "(a)", "(sec., b)", "(…, a; Coumadin §4, b)".
LETTER = re.compile(r"(?<=[(\s])([a-f])(?=[),;])")
WORD = re.compile(r"[a-z0-9]+")
NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Segment:
    """One fact of a cell: the text up to its "[seen]" tag (or the cell's end)."""

    text: str
    letters: tuple[str, ...]
    secondary: bool
    seen: bool


@dataclass(frozen=True)
class Row:
    drug: str
    cells: dict[LabelContext, str]
    urls: dict[str, str]

    def segments(self, context: LabelContext) -> list[Segment]:
        parts = re.split(r"(\[seen\])", self.cells[context])
        out: list[Segment] = []
        i = 0
        while i < len(parts):
            text = parts[i]
            seen = i + 1 < len(parts) and parts[i + 1] == "[seen]"
            if text.strip(" ."):
                out.append(Segment(text, tuple(LETTER.findall(text)), "sec." in text, seen))
            i += 2 if seen else 1
        return out


def parse_rows(markdown: str) -> list[Row]:
    rows: list[Row] = []
    for line in markdown.splitlines():
        if not line.startswith("| ") or line.startswith("| Drug"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == 6, line[:60]
        urls = dict(re.findall(r"\b([a-f]) (https?://\S+)", cells[5]))
        rows.append(Row(cells[0], dict(zip(CONTEXT_COLUMNS, cells[1:5], strict=True)), urls))
    return rows


def key(name: str) -> str:
    return re.sub(r"\s*\(.*?\)", "", name).strip().lower()


@pytest.fixture(scope="module")
def book(pack: KnowledgePack) -> LabelBook:
    return load_label_book(default_pack_dir(), pack.sources, pack.therapies)


@pytest.fixture(scope="module")
def markdown() -> str:
    if not LABELS_MD.is_file():
        pytest.skip(f"{LABELS_MD} is absent (no ../shared beside the repository): cannot compare with it")
    return LABELS_MD.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rows(markdown: str) -> list[Row]:
    parsed = parse_rows(markdown)
    assert len(parsed) >= 20
    return parsed


def drug_for(book: LabelBook, row: Row) -> Any:
    by_name = {key(d.name): d for d in book.drugs.values()}
    assert key(row.drug) in by_name, f"row '{row.drug}' has no entry in labels.yaml"
    return by_name[key(row.drug)]


def letters_of(pack: KnowledgePack, row: Row, st: LabelStatement) -> list[str]:
    by_url = {url: letter for letter, url in row.urls.items()}
    out = []
    for ref in st.sources:
        url = pack.sources[ref.source].identifiers.url
        assert url in by_url, f"{row.drug}: {ref.source} ({url}) is not a URL of its row"
        out.append(by_url[url])
    return out


# --- the bundled book


def test_book_loads_with_every_context_covered(book: LabelBook) -> None:
    assert len(book.drugs) == 22
    for drug in book.drugs.values():
        for ctx in LabelContext:
            stated = drug.statements_for(ctx)
            assert bool(stated) != (ctx in drug.not_found), (drug.id, ctx)


def test_statements_are_ordered_current_us_label_first(book: LabelBook) -> None:
    for drug in book.drugs.values():
        for ctx in LabelContext:
            keys = [preference(s) for s in drug.statements_for(ctx)]
            assert keys == sorted(keys), (drug.id, ctx)


def test_every_mapped_therapy_exists_and_kinds_agree(book: LabelBook, pack: KnowledgePack) -> None:
    for therapy, drugs in book.therapy_drugs.items():
        assert therapy in pack.therapies
        assert drugs and all(d in book.drugs for d in drugs)
    for therapy in book.not_drug_therapies:
        assert pack.therapies[therapy].kind != "drug", therapy
    for t in pack.therapies.values():
        if t.kind == "drug":
            assert book.is_drug(t.id), t.id
        else:
            assert t.id in book.not_drug_therapies or t.id in book.therapy_drugs, t.id
    assert {d.id for d in book.for_therapy("bisphosphonates")} == {
        "alendronate",
        "pamidronate",
        "zoledronic-acid",
    }
    assert [d.id for d in book.for_therapy("sodium-thiosulfate-intralesional")] == ["sodium-thiosulfate"]
    assert book.for_therapy("acetazolamide") == () and book.is_drug("acetazolamide")
    assert book.for_therapy("parathyroidectomy") == () and not book.is_drug("parathyroidectomy")


def test_therapy_agents_map_to_their_label_rows(book: LabelBook, pack: KnowledgePack) -> None:
    # Topical sodium thiosulfate is compounded: the injection labels do not apply to it.
    unlabelled = {"sodium-thiosulfate-topical"}
    for t in pack.therapies.values():
        if t.id in unlabelled:
            assert not book.for_therapy(t.id)
            continue
        for agent in (*t.agents, *t.aliases):
            for drug in book.match_medication(agent):
                assert drug.id in book.therapy_drugs.get(t.id, ()), (t.id, agent, drug.id)


def test_requires_names_pack_predicates(book: LabelBook, pack: KnowledgePack) -> None:
    used = {p for d in book.drugs.values() for s in d.statements for p in s.requires}
    assert used and used <= set(pack.predicates)


def test_trust_matches_the_kind_of_source(book: LabelBook, pack: KnowledgePack) -> None:
    for drug in book.drugs.values():
        for st in drug.statements:
            srcs = [pack.sources[r.source] for r in st.sources]
            if st.trust is LabelTrust.SECONDARY:
                assert not st.verified
                assert all(s.kind is SourceKind.WEB and not s.verified for s in srcs), (drug.id, st.text)
            else:
                assert srcs[0].kind is SourceKind.DRUG_LABEL, (drug.id, st.text)
                assert st.region is not None
            if any(s.trust is Trust.LOW for s in srcs):
                assert st.trust is LabelTrust.SECONDARY, (drug.id, st.text)


def test_thresholds_and_ages_are_numbers_the_text_states(book: LabelBook) -> None:
    for drug in book.drugs.values():
        for st in drug.statements:
            for value in (st.egfr_below, st.egfr_at_most, st.age_below_years, st.age_at_least_years):
                if value is not None and value == int(value):
                    assert str(int(value)) in NUMBER.findall(st.text), (drug.id, st.text)


def test_label_sources_file_is_all_used(book: LabelBook) -> None:
    data = yaml.safe_load(SOURCES_FILE.read_text(encoding="utf-8"))
    ids = {s["id"] for s in data["sources"]}
    used = {r.source for d in book.drugs.values() for s in d.statements for r in s.sources}
    assert ids == used
    for s in data["sources"]:
        assert s["identifiers"].keys() == {"url"}, s["id"]


# --- applying a statement to a patient


def test_applies_by_age_egfr_and_predicates(book: LabelBook) -> None:
    ceftriaxone = book.drugs["ceftriaxone"].statements_for(LabelContext.CHILD)[0]
    assert ceftriaxone.requires == ("neonate", "on-iv-calcium")
    facts = {"neonate", "on-iv-calcium"}
    assert ceftriaxone.applies(age_years=0.02, egfr=None, holds=facts.__contains__)
    assert not ceftriaxone.applies(age_years=0.02, egfr=None, holds={"neonate"}.__contains__)
    assert not ceftriaxone.applies(age_years=0.02, egfr=None)

    probenecid = book.drugs["probenecid"]
    under_two = probenecid.applicable(LabelContext.CHILD, age_years=1.5, egfr=None)
    assert [s.severity.value for s in under_two] == ["contraindication"]
    assert probenecid.applicable(LabelContext.CHILD, age_years=5, egfr=None) == ()
    assert probenecid.applicable(LabelContext.CHILD, age_years=None, egfr=None) == under_two
    renal = probenecid.statements_for(LabelContext.SEVERE_RENAL_IMPAIRMENT)[0]
    assert renal.applies(age_years=None, egfr=30, holds=None)
    assert not renal.applies(age_years=None, egfr=31, holds=None)

    alendronate = book.drugs["alendronate"].statements_for(LabelContext.SEVERE_RENAL_IMPAIRMENT)[0]
    assert alendronate.applies(age_years=70, egfr=34.9) and not alendronate.applies(age_years=70, egfr=35)

    rituximab = book.drugs["rituximab"]
    assert rituximab.applicable(LabelContext.CHILD, age_years=1, egfr=None) == ()
    assert len(rituximab.applicable(LabelContext.CHILD, age_years=10, egfr=None)) == 1


def test_conditional_statements_are_marked(book: LabelBook) -> None:
    conditional = {d.id for d in book.drugs.values() for s in d.statements if s.conditional}
    assert {"ceftriaxone", "methotrexate", "pamidronate", "zoledronic-acid"} <= conditional


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fosamax 70 mg weekly", {"alendronate"}),
        ("SENSIPAR 30 mg", {"cinacalcet"}),
        ("Methotrexate sodium 15 mg weekly", {"methotrexate"}),
        ("MMF 1 g twice daily", {"mycophenolate"}),
        ("aluminum hydroxide gel", {"aluminium-hydroxide"}),
        ("Plaquenil 200 mg", {"hydroxychloroquine"}),
        ("pravastatin 40 mg", set()),
        ("ivigx", set()),
    ],
)
def test_medications_are_matched_by_name(book: LabelBook, text: str, expected: set[str]) -> None:
    assert {d.id for d in book.match_medication(text)} == expected


# --- against drug-labels.md


def test_every_row_is_present_with_its_four_cells(book: LabelBook, rows: list[Row]) -> None:
    assert len(rows) == len(book.drugs)
    for row in rows:
        drug = drug_for(book, row)
        for ctx, cell in row.cells.items():
            empty = cell.lower().startswith("not found")
            assert (ctx in drug.not_found) == empty, (row.drug, ctx)
            assert bool(drug.statements_for(ctx)) != empty, (row.drug, ctx)


def test_every_fact_cites_its_rows_urls_and_every_cited_letter_is_used(
    book: LabelBook, pack: KnowledgePack, rows: list[Row]
) -> None:
    for row in rows:
        drug = drug_for(book, row)
        for ctx in CONTEXT_COLUMNS:
            cited: set[str] = set()
            for st in drug.statements_for(ctx):
                for ref, letter in zip(st.sources, letters_of(pack, row, st), strict=True):
                    assert ref.source == f"label-{drug.id}-{letter}", (row.drug, ref.source)
                    cited.add(letter)
            for seg in row.segments(ctx):
                missing = set(seg.letters) - cited
                assert not missing, f"{row.drug} {ctx}: letters {missing} of the cell are not used"


def test_every_yaml_url_appears_in_drug_labels_md(markdown: str) -> None:
    data = yaml.safe_load(SOURCES_FILE.read_text(encoding="utf-8"))
    for s in data["sources"]:
        assert s["identifiers"]["url"] in markdown, s["id"]


def test_sec_cells_stay_secondary_and_unseen_cells_unverified(
    book: LabelBook, pack: KnowledgePack, rows: list[Row]
) -> None:
    for row in rows:
        drug = drug_for(book, row)
        for ctx in CONTEXT_COLUMNS:
            segments = row.segments(ctx)
            statements = drug.statements_for(ctx)
            for st in statements:
                letters = set(letters_of(pack, row, st))
                citing = [s for s in segments if letters & set(s.letters)]
                assert citing, (row.drug, ctx, st.text)
                if all(s.secondary for s in citing):
                    assert st.trust is LabelTrust.SECONDARY and not st.verified, (row.drug, ctx, st.text)
                if all(not s.seen for s in citing):
                    assert not st.verified, (row.drug, ctx, st.text)
            for seg in segments:
                if seg.secondary:
                    assert any(
                        st.trust is LabelTrust.SECONDARY and set(letters_of(pack, row, st)) & set(seg.letters)
                        for st in statements
                    ), (row.drug, ctx, seg.text)


def test_cell_marks_carry_over(book: LabelBook, pack: KnowledgePack, rows: list[Row]) -> None:
    for row in rows:
        drug = drug_for(book, row)
        for ctx in CONTEXT_COLUMNS:
            segments = row.segments(ctx)
            for st in drug.statements_for(ctx):
                first = letters_of(pack, row, st)[0]
                own = [s.text.lower() for s in segments if s.letters and s.letters[0] == first]
                if any("non-us" in t for t in own):
                    assert st.region is LabelRegion.NON_US, (row.drug, ctx, st.text)
                if any("(old label" in t or "old us label" in t for t in own):
                    assert st.old_format, (row.drug, ctx, st.text)
                if st.trust is LabelTrust.LABEL and any("mirror" in t for t in own):
                    assert st.mirror, (row.drug, ctx, st.text)


def test_numbers_in_statements_are_shown_in_their_cell(book: LabelBook, rows: list[Row]) -> None:
    for row in rows:
        drug = drug_for(book, row)
        for ctx in CONTEXT_COLUMNS:
            shown = set(NUMBER.findall(row.cells[ctx]))
            for st in drug.statements_for(ctx):
                extra = set(NUMBER.findall(st.text)) - shown
                assert not extra, f"{row.drug} {ctx}: {extra} not in the cell: {st.text}"


def test_statement_text_is_in_own_words(book: LabelBook, markdown: str) -> None:
    words = WORD.findall(markdown.lower())
    grams = {tuple(words[i : i + 8]) for i in range(len(words) - 7)}
    texts = [s.text for d in book.drugs.values() for s in d.statements]
    texts += [g.text for d in book.drugs.values() for g in d.gaps]
    texts += [d.note for d in book.drugs.values() if d.note]
    for text in texts:
        t = WORD.findall(text.lower())
        copied = [" ".join(t[i : i + 8]) for i in range(len(t) - 7) if tuple(t[i : i + 8]) in grams]
        assert not copied, f"repeats drug-labels.md: {copied[0]!r}"


# --- bad files


@pytest.fixture
def label_dir(tmp_path: Path) -> Path:
    for name in ("labels.yaml", "predicates.yaml"):
        shutil.copy(default_pack_dir() / name, tmp_path / name)
    return tmp_path


def statement(d: dict[str, Any], drug: str, i: int = 0) -> dict[str, Any]:
    entry = next(x for x in d["drugs"] if x["id"] == drug)
    result: dict[str, Any] = entry["statements"][i]
    return result


def drug_entry(d: dict[str, Any], drug: str) -> dict[str, Any]:
    result: dict[str, Any] = next(x for x in d["drugs"] if x["id"] == drug)
    return result


BAD: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    (
        "unknown key",
        lambda d: statement(d, "methotrexate").update(colour="blue"),
        r"drugs\.methotrexate\.statements\.0\.colour: Extra inputs",
    ),
    ("unknown top-level key", lambda d: d.update(extras=[]), r"extras: Extra inputs"),
    (
        "unknown source",
        lambda d: statement(d, "methotrexate")["sources"][0].update(source="nobody-1999"),
        r"drugs\.methotrexate\.statements\.0\.sources\.0\.source: unknown source 'nobody-1999'",
    ),
    (
        "unknown therapy",
        lambda d: d["therapy_drugs"].update({"moon-cure": ["warfarin"]}),
        r"therapy_drugs\.moon-cure: unknown therapy",
    ),
    (
        "unknown drug",
        lambda d: d["therapy_drugs"].update(diltiazem=["verapamil"]),
        r"therapy_drugs\.diltiazem: unknown drug 'verapamil'",
    ),
    (
        "unknown not-drug therapy",
        lambda d: d["not_drug_therapies"].append("dancing"),
        r"not_drug_therapies\.7: unknown therapy 'dancing'",
    ),
    (
        "therapy listed twice",
        lambda d: d["not_drug_therapies"].append("diltiazem"),
        r"not_drug_therapies\.7: 'diltiazem' is also in therapy_drugs",
    ),
    (
        "context missing",
        lambda d: drug_entry(d, "rituximab").pop("not_found"),
        r"drugs\.rituximab: .*statements/not_found: context 'severe-renal-impairment' is not covered",
    ),
    (
        "context both stated and not found",
        lambda d: drug_entry(d, "methotrexate").update(not_found=["child"]),
        r"drugs\.methotrexate: .*not_found: context 'child' also has statements",
    ),
    (
        "secondary marked verified",
        lambda d: statement(d, "minocycline", 1).update(verified=True),
        r"drugs\.minocycline\.statements\.1: .*verified: must be false",
    ),
    (
        "label without region",
        lambda d: statement(d, "warfarin").pop("region"),
        r"drugs\.warfarin\.statements\.0: .*region",
    ),
    (
        "bad severity",
        lambda d: statement(d, "warfarin").update(severity="scary"),
        r"drugs\.warfarin\.statements\.0\.severity",
    ),
    (
        "unknown context",
        lambda d: statement(d, "warfarin").update(context="old-age"),
        r"drugs\.warfarin\.statements\.0\.context",
    ),
    (
        "unknown predicate",
        lambda d: statement(d, "ceftriaxone", 2).update(requires=["is-a-wizard"]),
        r"drugs\.ceftriaxone\.statements\.2\.requires: unknown predicate 'is-a-wizard'",
    ),
    (
        "age on a renal statement",
        lambda d: statement(d, "warfarin", 3).update(age_below_years=2),
        r"drugs\.warfarin\.statements\.3: .*age_below_years",
    ),
    (
        "threshold without measure",
        lambda d: statement(d, "alendronate", 5).pop("renal_measure"),
        r"drugs\.alendronate\.statements\.5: .*renal_measure",
    ),
    (
        "upper-case name",
        lambda d: drug_entry(d, "warfarin")["names"].append("WARFARIN"),
        r"drugs\.warfarin\.names",
    ),
    (
        "name of two drugs",
        lambda d: drug_entry(d, "warfarin")["names"].append("fosamax"),
        r"drugs\.warfarin\.names: 'fosamax' also names 'alendronate'",
    ),
    (
        "misordered statements",
        lambda d: drug_entry(d, "alendronate")["statements"].reverse(),
        r"drugs\.alendronate: .*must be ordered",
    ),
]


@pytest.mark.parametrize(("case", "mutate", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_label_file_is_rejected_naming_the_field(
    label_dir: Path, pack: KnowledgePack, case: str, mutate: Callable[[dict[str, Any]], Any], message: str
) -> None:
    path = label_dir / "labels.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    mutate(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PackError, match=rf"^labels\.yaml: .*{message}"):
        load_label_book(label_dir, pack.sources, pack.therapies)


def test_unchanged_copy_loads(label_dir: Path, pack: KnowledgePack) -> None:
    assert len(load_label_book(label_dir, pack.sources, pack.therapies).drugs) == 22


def test_invalid_or_missing_file_is_a_pack_error(label_dir: Path, pack: KnowledgePack) -> None:
    (label_dir / "labels.yaml").write_text("drugs: [unclosed\n", encoding="utf-8")
    with pytest.raises(PackError, match=r"labels\.yaml: not valid YAML"):
        load_label_book(label_dir, pack.sources, pack.therapies)
    (label_dir / "labels.yaml").unlink()
    with pytest.raises(PackError, match=r"labels\.yaml: file is missing"):
        load_label_book(label_dir, pack.sources, pack.therapies)
