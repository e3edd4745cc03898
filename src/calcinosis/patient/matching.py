"""Term matching for free text in work linear in its length, with a small NegEx-style filter: a term is not
asserted when a negation cue precedes it in the same clause.

"no history of kidney disease", "without ulceration", "denies warfarin use", "negative for ANA".
Clauses end at '.', ';', ':' or the words "but" / "however"; a cue reaches at most six words ahead.

Phrases are found by one Aho–Corasick automaton (pyahocorasick) over the case-folded text; the negation
pass finds clause ends, cues and word starts once per text and answers each match, in text order, by moving
cursors forward. A ``Work`` counter, when given, adds up the steps (characters each pass scans, automaton
matches, cursor moves) so that tests can check the work grows linearly with the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

import ahocorasick

_CUES = re.compile(
    r"\b(?:no|not|without|denies|denied|negative for|absence of|absent|free of|ruled out|excluded|never)\b",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"[.;:]|\bbut\b|\bhowever\b", re.IGNORECASE)
_WORD_START = re.compile(r"(?<!\S)\S")  # where str.split() starts a word
_MAX_WORDS = 6

# Lower-case letters that Python's case-insensitive regex matching treats as one letter (re/_casefix.py):
# folding each group to its first member keeps matching exactly as case-insensitive as it was.
_SAME_LETTER = (
    (0x69, 0x131),
    (0x73, 0x17F),
    (0xB5, 0x3BC),
    (0x345, 0x3B9, 0x1FBE),
    (0x390, 0x1FD3),
    (0x3B0, 0x1FE3),
    (0x3B2, 0x3D0),
    (0x3B5, 0x3F5),
    (0x3B8, 0x3D1),
    (0x3BA, 0x3F0),
    (0x3C0, 0x3D6),
    (0x3C1, 0x3F1),
    (0x3C2, 0x3C3),
    (0x3C6, 0x3D5),
    (0x432, 0x1C80),
    (0x434, 0x1C81),
    (0x43E, 0x1C82),
    (0x441, 0x1C83),
    (0x442, 0x1C84, 0x1C85),
    (0x44A, 0x1C86),
    (0x463, 0x1C87),
    (0x1C88, 0xA64B),
    (0x1E61, 0x1E9B),
    (0xFB05, 0xFB06),
)
_FOLD = {member: group[0] for group in _SAME_LETTER for member in group[1:]}
_FOLDABLE = re.compile("[" + "".join(chr(c) for c in _FOLD) + "]")

V = TypeVar("V")


@dataclass
class Work:
    """Steps taken by the matcher, for tests and benchmarks that check how work grows with the text."""

    steps: int = 0


def fold(text: str) -> str:
    """Case-folded text of the same length, position for position: simple lower case, then one letter for
    the letters regex matching treats as the same. (U+0130 is the one letter whose lower case is two.)"""
    low = text.replace("\u0130", "i").lower()
    return low.translate(_FOLD) if _FOLDABLE.search(low) else low


def _wordish(ch: str) -> bool:
    return ch.isalnum() or ch == "_" or ch == "-"


class PhraseIndex(Generic[V]):
    """An Aho–Corasick automaton over folded phrases that yields their whole-word occurrences: not preceded or
    followed by a letter, digit, underscore or hyphen."""

    def __init__(self, phrases: dict[str, V]) -> None:
        self._automaton: ahocorasick.Automaton | None = None
        if phrases:
            self._automaton = ahocorasick.Automaton()
            for phrase, value in phrases.items():
                self._automaton.add_word(phrase, (len(phrase), value))
            self._automaton.make_automaton()

    def spans(self, folded: str, text: str, work: Work | None = None) -> Iterator[tuple[int, int, V]]:
        """(start, end, value) of each whole-word occurrence in ``folded``, with boundaries read in ``text``
        (the same length), ordered by end."""
        if self._automaton is None:
            return
        n = len(text)
        matches = 0
        for last, (length, value) in self._automaton.iter(folded):
            matches += 1
            start, end = last - length + 1, last + 1
            if (start > 0 and _wordish(text[start - 1])) or (end < n and _wordish(text[end])):
                continue
            yield start, end, value
        if work is not None:
            work.steps += n + matches


class _Negation:
    """Answers "is the match at ``start`` negated?" for starts given in increasing order, in O(1) amortised
    each, from clause ends, cues and word starts found once in the whole text.

    The last cue before ``start`` in its clause decides: fewer words lie between it and the match than after
    any earlier cue.
    """

    def __init__(self, text: str, work: Work | None) -> None:
        self._text = text
        self._clause_ends = [m.end() for m in _CLAUSE_END.finditer(text)]
        self._cues = [(m.start(), m.end()) for m in _CUES.finditer(text)]
        self._word_starts = [m.start() for m in _WORD_START.finditer(text)]
        self._work = work
        self._ends_before = 0  # clause ends at or before the current start
        self._cues_before = 0  # cues ending at or before the current start
        self._words_to_cue = 0  # word starts up to the last cue's end (inclusive)
        self._words_to_start = 0  # word starts before the current start
        if work is not None:
            work.steps += 3 * len(text) + len(self._clause_ends) + len(self._cues) + len(self._word_starts)

    def negated(self, start: int) -> bool:
        moves = 1
        ends, cues, words = self._clause_ends, self._cues, self._word_starts
        while self._ends_before < len(ends) and ends[self._ends_before] <= start:
            self._ends_before += 1
            moves += 1
        while self._cues_before < len(cues) and cues[self._cues_before][1] <= start:
            self._cues_before += 1
            moves += 1
        clause_start = ends[self._ends_before - 1] if self._ends_before else 0
        negated = False
        if self._cues_before and cues[self._cues_before - 1][0] >= clause_start:
            cue_end = cues[self._cues_before - 1][1]
            while self._words_to_cue < len(words) and words[self._words_to_cue] <= cue_end:
                self._words_to_cue += 1
                moves += 1
            while self._words_to_start < len(words) and words[self._words_to_start] < start:
                self._words_to_start += 1
                moves += 1
            # the words str.split() finds in text[cue_end:start]
            between = max(0, self._words_to_start - self._words_to_cue)
            if cue_end < start and not self._text[cue_end].isspace():
                between += 1
            negated = between <= _MAX_WORDS
        if self._work is not None:
            self._work.steps += moves
        return negated


def is_negated(text: str, start: int) -> bool:
    """Whether the term starting at ``start`` in ``text`` is negated by a preceding cue in its clause.

    For one look-up; ``TermMatcher`` reuses one pass over the text for all its matches."""
    return _Negation(text, None).negated(start)


class TermMatcher:
    """Find which keys a text asserts, from (phrase, key) pairs, in work linear in the text.

    Phrases match case-insensitively on word boundaries; at each position the longest phrase wins and its
    span is consumed (so "juvenile dermatomyositis" is not also read as "dermatomyositis"); a negated
    mention does not count; a phrase listed in ``abbreviations`` counts only when not written all in lower
    case (so "pain in all fingers" is not read as leukaemia). A phrase listed under several keys asserts all
    of them.
    """

    def __init__(self, terms: list[tuple[str, str]], abbreviations: frozenset[str] = frozenset()) -> None:
        self.terms = tuple(terms)
        self.abbreviations = frozenset(a.lower() for a in abbreviations)
        by_phrase: dict[str, set[str]] = {}
        for phrase, key in terms:
            if phrase:
                by_phrase.setdefault(phrase.lower(), set()).add(key)
        # Phrases that differ only in letters regex matching held equal: the first in (longest, then
        # alphabetical) order is the one a regex alternation would have tried first.
        folded: dict[str, frozenset[str]] = {}
        for phrase in sorted(by_phrase, key=lambda p: (-len(p), p)):
            folded.setdefault(fold(phrase), frozenset(by_phrase[phrase]))
        self._index = PhraseIndex(folded)

    def find(self, text: str, work: Work | None = None) -> set[str]:
        longest: dict[int, tuple[int, frozenset[str]]] = {}
        for start, end, keys in self._index.spans(fold(text), text, work):
            known = longest.get(start)
            if known is None or end > known[0]:
                longest[start] = (end, keys)
        found: set[str] = set()
        negation: _Negation | None = None
        consumed = 0
        for start in sorted(longest):
            if start < consumed:
                continue
            end, keys = longest[start]
            consumed = end
            word = text[start:end]
            if word.lower() in self.abbreviations and word == word.lower():
                continue  # "all", "hd" in lower case are ordinary words, not the abbreviations
            if negation is None:
                negation = _Negation(text, work)
            if not negation.negated(start):
                found |= keys
        if work is not None:
            work.steps += len(text) + len(longest)  # the fold, the ordering of the starts
        return found
