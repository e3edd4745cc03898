"""Every fact of the seed chapter is in the pack, attributed to the chapter (tb-old)."""

from __future__ import annotations

from pydantic import BaseModel

from calcinosis.pack import KnowledgePack
from calcinosis.pack.models import SourceRef

# Therapies the chapter names (management strategy and first-line list), by pack id.
CHAPTER_THERAPIES = (
    "no-treatment",
    "surgical-excision",
    "intralesional-corticosteroid",
    "aluminium-hydroxide",
    "bisphosphonates",
    "diltiazem",
    "colchicine",
    "probenecid",
    "minocycline",
    "low-dose-warfarin",
    "co2-laser",
    "eswl",
    "ivig",
    "treat-underlying-disease",
)
CHAPTER_VARIANTS = (
    "calcinosis-circumscripta",
    "calcinosis-universalis",
    "tumoral-calcinosis",
    "transplant-associated",
    "milia-like-idiopathic",
)


def refs_in(obj: object) -> list[SourceRef]:
    if isinstance(obj, SourceRef):
        return [obj]
    if isinstance(obj, BaseModel):
        return [r for name in type(obj).model_fields for r in refs_in(getattr(obj, name))]
    if isinstance(obj, tuple):
        return [r for item in obj for r in refs_in(item)]
    return []


def test_every_therapy_the_chapter_names_cites_the_chapter(pack: KnowledgePack) -> None:
    for tid in CHAPTER_THERAPIES:
        assert tid in pack.therapies, tid
        assert any(r.source == "tb-old" for r in refs_in(pack.therapies[tid])), tid


def test_every_variant_the_chapter_names_cites_the_chapter(pack: KnowledgePack) -> None:
    for vid in CHAPTER_VARIANTS:
        assert pack.subtypes[vid].kind == "variant"
        assert any(r.source == "tb-old" for r in refs_in(pack.subtypes[vid])), vid


def test_chapter_frequencies_are_recorded_with_the_chapter_as_source(pack: KnowledgePack) -> None:
    texts = [
        (f.text, f.low_percent, f.high_percent, {r.source for r in f.sources})
        for s in pack.subtypes.values()
        for a in s.associations
        for f in a.frequencies
    ]
    chapter = [(t, lo, hi) for t, lo, hi, srcs in texts if "tb-old" in srcs]
    assert any(hi == 10 for _, _, hi in chapter), "scleroderma up to 10%"
    assert any(lo == 10 and hi == 40 for _, lo, hi in chapter), "juvenile dermatomyositis 10–40%"
    assert any("rare" in t.lower() for t, _, _ in chapter), "rare in SLE"


def test_conflicting_frequencies_are_recorded_as_conflicts(pack: KnowledgePack) -> None:
    topics = " ".join(c.topic.lower() for s in pack.subtypes.values() for c in s.conflicts)
    assert "sclerosis" in topics and ("juvenile" in topics or "jdm" in topics)


def test_malignancies_named_by_the_chapter_are_causes_of_metastatic_calcification(
    pack: KnowledgePack,
) -> None:
    assoc = [
        a for a in pack.subtypes["metastatic"].associations if any(r.source == "tb-old" for r in a.sources)
    ]
    text = " ".join(a.text.lower() for a in assoc)
    assert "leuk" in text and "myeloma" in text


def test_biopsy_separates_calcification_from_ossification(pack: KnowledgePack) -> None:
    items = [w for w in pack.workup.values() if "ossification" in (w.purpose + w.name).lower()]
    assert items and any(r.source == "tb-old" for w in items for r in w.sources)
