"""Find disagreements between the level a source states and the level derived from studies."""

from __future__ import annotations

from calcinosis.pack.levels import LEVEL_RULE
from calcinosis.pack.models import (
    Conflict,
    ConflictPosition,
    EvidenceLevel,
    SourceRef,
    Therapy,
)


def derive_level_conflicts(therapy: Therapy, derived: EvidenceLevel | None) -> tuple[Conflict, ...]:
    """One conflict per stated A–E level that differs from the derived one (or cannot be checked)."""
    out: list[Conflict] = []
    study_refs = tuple(ref for s in therapy.studies if s.verified for ref in s.sources[:1])
    for i, line in enumerate(therapy.lines):
        if line.stated_level is None or line.stated_level == derived:
            continue
        if derived is None:
            derived_claim = (
                "No verified study recorded in the pack supports any A–E level by the chapter's rule"
            )
            derived_sources: tuple[SourceRef, ...] = study_refs or (line.source,)
        else:
            derived_claim = (
                f"Recorded studies support level {derived.value} by the chapter's rule ({LEVEL_RULE})"
            )
            derived_sources = study_refs or (line.source,)
        out.append(
            Conflict(
                id=f"{therapy.id}-level-{i}",
                topic=f"Evidence level for {therapy.name}",
                positions=(
                    ConflictPosition(
                        claim=f"Level {line.stated_level.value} as stated by the source",
                        sources=(line.source,),
                    ),
                    ConflictPosition(claim=derived_claim, sources=derived_sources),
                ),
                handling="Both levels are shown; the derived level is used for ranking when one exists.",
            )
        )
    return tuple(out)
