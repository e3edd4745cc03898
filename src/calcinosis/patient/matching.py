"""Term matching for free text, with a small NegEx-style filter: a term is not asserted when a negation
cue precedes it in the same clause.

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


class TermMatcher:
    """Find which keys a text asserts, from (phrase, key) pairs, in one regex pass.

    Phrases match case-insensitively on word boundaries; at each position the longest phrase wins and its
    span is consumed (so "juvenile dermatomyositis" is not also read as "dermatomyositis"); a negated
    mention does not count; a phrase listed in ``abbreviations`` counts only when not written all in lower
    case (so "pain in all fingers" is not read as leukaemia).
    """

    def __init__(self, terms: list[tuple[str, str]], abbreviations: frozenset[str] = frozenset()) -> None:
        self._abbreviations = frozenset(a.lower() for a in abbreviations)
        ordered = sorted({(p.lower(), k) for p, k in terms if p}, key=lambda e: (-len(e[0]), e[0]))
        self._keys = {f"t{i}": key for i, (_, key) in enumerate(ordered)}
        alternation = "|".join(f"(?P<t{i}>{re.escape(p)})" for i, (p, _) in enumerate(ordered))
        self._regex = re.compile(r"(?<![\w-])(?:" + (alternation or "(?!)") + r")(?![\w-])", re.IGNORECASE)

    def find(self, text: str) -> set[str]:
        found: set[str] = set()
        for m in self._regex.finditer(text):
            word = m.group(0)
            if word.lower() in self._abbreviations and word == word.lower():
                continue  # "all", "hd" in lower case are ordinary words, not the abbreviations
            if m.lastgroup is not None and not is_negated(text, m.start()):
                found.add(self._keys[m.lastgroup])
        return found
