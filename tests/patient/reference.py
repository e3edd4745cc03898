"""The regex matcher the project used before the linear one, kept as the specification to compare against.

It is quadratic (the negation check rescans the text before each match) but short and plainly right: each
property test checks that the linear matcher gives exactly its answers. The one deliberate change: a phrase
listed under several keys asserts all of them (the old one picked one of them by set order, which varied with
the hash seed).
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
    before = text[:start]
    ends = list(_CLAUSE_END.finditer(before))
    clause = before[ends[-1].end() :] if ends else before
    for cue in _CUES.finditer(clause):
        between = clause[cue.end() :]
        if len(between.split()) <= _MAX_WORDS:
            return True
    return False


class ReferenceMatcher:
    def __init__(self, terms: list[tuple[str, str]], abbreviations: frozenset[str] = frozenset()) -> None:
        self._abbreviations = frozenset(a.lower() for a in abbreviations)
        phrases: dict[str, set[str]] = {}
        for p, k in terms:
            if p:
                phrases.setdefault(p.lower(), set()).add(k)
        ordered = sorted(phrases, key=lambda p: (-len(p), p))
        self._keys = {f"t{i}": phrases[p] for i, p in enumerate(ordered)}
        alternation = "|".join(f"(?P<t{i}>{re.escape(p)})" for i, p in enumerate(ordered))
        self._regex = re.compile(r"(?<![\w-])(?:" + (alternation or "(?!)") + r")(?![\w-])", re.IGNORECASE)

    def find(self, text: str) -> set[str]:
        found: set[str] = set()
        for m in self._regex.finditer(text):
            word = m.group(0)
            if word.lower() in self._abbreviations and word == word.lower():
                continue
            if m.lastgroup is not None and not is_negated(text, m.start()):
                found |= self._keys[m.lastgroup]
        return found


def reference_analyte(synonyms: list[tuple[str, str]], text: str) -> str | None:
    """``LabVocabulary.analyte_for_text`` as it was: the longest synonym found anywhere wins."""
    low = text.lower()
    for syn, tid in sorted(((s.lower(), t) for s, t in synonyms), key=lambda e: -len(e[0])):
        if re.search(r"(?<![\w-])" + re.escape(syn) + r"(?![\w-])", low):
            return tid
    return None
