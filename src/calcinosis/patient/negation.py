"""A small NegEx-style filter: a term is not asserted when a negation cue precedes it in the same clause.

"no history of kidney disease", "without ulceration", "denies warfarin use", "negative for ANA".
Clauses end at '.', ';', ':' or the words "but" / "however"; a cue reaches at most six words ahead.
"""

from __future__ import annotations

import re

_CUES = re.compile(
    r"\b(?:no|not|without|denies|denied|negative for|absence of|absent|free of|ruled out|excluded|never)\b",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"[.;:]|\bbut\b|\bhowever\b", re.IGNORECASE)
_MAX_WORDS = 6


def is_negated(text: str, start: int) -> bool:
    """Whether the term starting at ``start`` in ``text`` is negated by a preceding cue in its clause."""
    before = text[:start]
    ends = list(_CLAUSE_END.finditer(before))
    clause = before[ends[-1].end() :] if ends else before
    for cue in _CUES.finditer(clause):
        between = clause[cue.end() :]
        if len(between.split()) <= _MAX_WORDS:
            return True
    return False


def asserted_terms(patterns: list[tuple[re.Pattern[str], str]], text: str) -> set[str]:
    """Keys of the patterns asserted in ``text``: longest patterns first, each matched span consumed (so
    "juvenile dermatomyositis" is not also read as "dermatomyositis"), negated mentions not counted."""
    found: set[str] = set()
    remaining = text
    for pattern, key in patterns:
        matches = list(pattern.finditer(remaining))
        if not matches:
            continue
        if any(not is_negated(remaining, m.start()) for m in matches):
            found.add(key)
        remaining = pattern.sub(lambda m: " " * len(m.group(0)), remaining)
    return found
