"""The evidence ladder: every therapy in the pack (or of one setting), first-line first, then by level."""

from __future__ import annotations

from calcinosis.engine.rank import evidence_of
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.models import EvidenceLevel, Therapy


def ladder(pack: KnowledgePack, setting: str | None = None) -> list[Therapy]:
    items = [
        t for t in pack.therapies.values() if setting is None or any(f.setting == setting for f in t.settings)
    ]

    def key(t: Therapy) -> tuple[bool, int, str]:
        shown = evidence_of(t, pack).shown
        first = any(ln.line.value in ("first", "preferred") for ln in t.lines)
        return (not first, shown.rank if shown else len(EvidenceLevel), t.name.lower())

    return sorted(items, key=key)
