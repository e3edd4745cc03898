"""Turn pack provenance and read facts into the Basis shown with every conclusion."""

from __future__ import annotations

from collections.abc import Iterable

from calcinosis.engine.facts import Fact
from calcinosis.engine.results import Basis, Citation
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.models import SourceRef

_CITES: dict[tuple[str, str, str | None, str | None], Citation] = {}


# cite of one SourceRef object, kept with the object itself so that its id cannot be reused while the entry
# lives (the pack's references live as long as the pack; bounded for references built per call).
_CITE_REF: dict[int, tuple[SourceRef, str, Citation]] = {}


def cite(pack: KnowledgePack, ref: SourceRef) -> Citation:
    """The citation for one provenance record (built once per pack and reference)."""
    hit = _CITE_REF.get(id(ref))
    if hit is not None and hit[0] is ref and hit[1] == pack.content_hash:
        return hit[2]
    key = (pack.content_hash, ref.source, ref.section, ref.note)
    found = _CITES.get(key)
    if found is None:
        found = _CITES[key] = _make_citation(pack, ref)
    if len(_CITE_REF) < _CITE_ALL_MAX:
        _CITE_REF[id(ref)] = (ref, pack.content_hash, found)
    return found


def _make_citation(pack: KnowledgePack, ref: SourceRef) -> Citation:
    src = pack.sources[ref.source]
    section = None
    if ref.section is not None:
        titles = {s.id: s.title for s in src.sections}
        section = titles.get(ref.section, ref.section)
    return Citation(
        id=src.id,
        short=src.short,
        citation=src.citation,
        section=section,
        note=ref.note,
        pmid=src.identifiers.pmid,
        doi=src.identifiers.doi,
        url=src.identifiers.url,
        verified=src.verified,
    )


# cite_all of a tuple (the pack's own source lists): kept with the tuple itself, so that its id cannot be
# reused while the entry lives; bounded, as a tuple built for one call would otherwise stay.
_CITE_ALL: dict[int, tuple[tuple[SourceRef, ...], str, tuple[Citation, ...]]] = {}
_CITE_ALL_MAX = 8192


def cite_all(pack: KnowledgePack, refs: Iterable[SourceRef]) -> tuple[Citation, ...]:
    """The citations of ``refs``, one per source and section, in order of first mention."""
    if isinstance(refs, tuple):
        hit = _CITE_ALL.get(id(refs))
        if hit is not None and hit[0] is refs and hit[1] == pack.content_hash:
            return hit[2]
    seen: dict[tuple[str, str | None], Citation] = {}
    for ref in refs:
        key = (ref.source, ref.section)
        if key not in seen:
            seen[key] = cite(pack, ref)
    out = tuple(seen.values())
    if isinstance(refs, tuple) and len(_CITE_ALL) < _CITE_ALL_MAX:
        _CITE_ALL[id(refs)] = (refs, pack.content_hash, out)
    return out


def make_basis(
    pack: KnowledgePack,
    *,
    rules: Iterable[str] = (),
    facts: Iterable[Fact] = (),
    sources: Iterable[SourceRef] = (),
) -> Basis:
    return Basis(
        rules=tuple(dict.fromkeys(rules)),
        facts=tuple(dict.fromkeys(f.id for f in facts)),
        sources=cite_all(pack, sources),
    )
