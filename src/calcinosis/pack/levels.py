"""The chapter's A–E evidence rule, as one pure function over recorded studies.

A  double-blind study
B  clinical trial with 20 or more subjects
C  clinical trial with fewer than 20 subjects
D  series of 5 or more subjects
E  anecdotal case reports

Only verified studies count. A trial whose size is unknown cannot be graded B or C, and a series whose
size is unknown cannot be graded D: the level is then whatever the remaining studies support, or
``None`` when nothing can be derived.
"""

from __future__ import annotations

from collections.abc import Iterable

from calcinosis.pack.models import Blinding, EvidenceLevel, Study, StudyDesign

TRIALS = frozenset({StudyDesign.RCT, StudyDesign.CONTROLLED_TRIAL, StudyDesign.OPEN_TRIAL})
SERIES = frozenset({StudyDesign.COHORT, StudyDesign.CASE_SERIES, StudyDesign.POOLED_SERIES})
ANECDOTAL = frozenset({StudyDesign.CASE_REPORT})

LEVEL_RULE = (
    "A: double-blind study; B: clinical trial >= 20 subjects; C: clinical trial < 20 subjects; "
    "D: series >= 5 subjects; E: anecdotal case reports (Nalluri & Coulson)"
)


def derive_study_level(study: Study) -> EvidenceLevel | None:
    """The level one study supports on its own, or None when its design or size does not say."""
    if not study.verified:
        return None
    if study.design in TRIALS:
        if study.blinding is Blinding.DOUBLE:
            return EvidenceLevel.A
        if study.n is None:
            return None
        return EvidenceLevel.B if study.n >= 20 else EvidenceLevel.C
    if study.design in SERIES:
        if study.n is None:
            return None
        return EvidenceLevel.D if study.n >= 5 else EvidenceLevel.E
    if study.design in ANECDOTAL:
        return EvidenceLevel.E
    return None


def derive_level(studies: Iterable[Study]) -> EvidenceLevel | None:
    """The best level any recorded study supports (A best), or None."""
    levels = [lvl for s in studies if (lvl := derive_study_level(s)) is not None]
    return min(levels) if levels else None
