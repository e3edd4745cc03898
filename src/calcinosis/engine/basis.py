"""Turn pack provenance and read facts into the Basis shown with every conclusion."""

from __future__ import annotations

from collections.abc import Iterable

from calcinosis.engine.facts import Fact
from calcinosis.engine.results import Basis, Citation
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.models import SourceRef

_CITES: dict[tuple[str, str, str | None, str | None], Citation] = {}


def cite(pack: KnowledgePack, ref: SourceRef) -> Citation:
    """The citation for one provenance record (built once per pack and reference)."""
    key = (pack.content_hash, ref.source, ref.section, ref.note)
    found = _CITES.get(key)
    if found is None:
        found = _CITES[key] = _make_citation(pack, ref)
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


def cite_all(pack: KnowledgePack, refs: Iterable[SourceRef]) -> tuple[Citation, ...]:
    seen: dict[tuple[str, str | None], Citation] = {}
    for ref in refs:
        key = (ref.source, ref.section)
        if key not in seen:
            seen[key] = cite(pack, ref)
    return tuple(seen.values())


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
