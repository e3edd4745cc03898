"""Who a screen assesses: the population concepts (``data/population.yaml``) as tables the engines match.

Nothing clinical is written here. Concepts come from ``population.yaml``; their codes, code systems and
names come from the project's vocabulary (``patient/data/concepts.yaml`` and ``code-sets.yaml``, read by
:mod:`calcinosis.patient.codes`), so a code added there is screened for without touching this package.

Matching follows the FHIR reader: codings are matched by code system (URI or alias) and by the code
normalised as the reader does (trimmed, upper case, dots dropped in hierarchical systems), exactly or under
a ``descendants`` family; text falls back to the concepts' names. The text test is a deliberate superset
of the reader's (abbreviations match in any case): selection only decides who is assessed, and every
picked patient is then read in full by the reader itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from calcinosis.errors import PackError
from calcinosis.patient.codes import Vocabulary, load_vocabulary, normalise_code


class PopulationEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    concept: str
    why: str


class Population(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    population: tuple[PopulationEntry, ...]


@dataclass(frozen=True)
class Selection:
    """The match tables an engine needs, all plain strings so SQL and Spark get the same input.

    systems:  (uri, code-set id, hierarchical) for every URI and alias of every code system
    keys:     (code-set id, normalised code) matched exactly
    families: (code-set id, normalised prefix) matched by codes strictly below the prefix
    text_pattern: a case-insensitive regex (RE2 and Java syntax) over a resource's code text and displays
    """

    concepts: tuple[str, ...]
    systems: tuple[tuple[str, str, bool], ...]
    keys: tuple[tuple[str, str], ...]
    families: tuple[tuple[str, str], ...]
    text_pattern: str | None


def read_population() -> Population:
    path = resources.files("calcinosis.screen") / "data" / "population.yaml"
    try:
        return Population.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise PackError(f"screen/data/population.yaml: {exc}") from exc


def derive_selection(vocabulary: Vocabulary, population: Population) -> Selection:
    """Match tables for every concept that is, or implies, a population concept. Pure."""
    wanted = {e.concept for e in population.population}
    unknown = sorted(wanted - set(vocabulary.concepts))
    if unknown:
        raise PackError(f"screen/data/population.yaml: unknown concept(s): {', '.join(unknown)}")
    concepts = sorted(c for c in vocabulary.concepts if vocabulary.implied({c}) & wanted)
    chosen = set(concepts)
    systems = sorted(
        (uri, s.id, s.hierarchical) for s in vocabulary.code_sets.systems for uri in (s.uri, *s.aliases)
    )
    hierarchical = {s.id: s.hierarchical for s in vocabulary.code_sets.systems}
    keys: set[tuple[str, str]] = set()
    families: set[tuple[str, str]] = set()
    for set_id, entries in vocabulary.code_sets.codes.items():
        for entry in entries:
            if entry.concept not in chosen:
                continue
            key = normalise_code(entry.code, hierarchical[set_id])
            keys.add((set_id, key))
            if entry.descendants:
                families.add((set_id, key))
    names = sorted(
        {s.lower() for c in concepts for s in vocabulary.concepts[c].synonyms if s.strip()},
        key=lambda s: (-len(s), s),
    )
    text_pattern = None
    if names:
        text_pattern = r"(?i)(^|\W)(" + trie_pattern(names) + r")(\W|$)"
    return Selection(
        concepts=tuple(concepts),
        systems=tuple(systems),
        keys=tuple(sorted(keys)),
        families=tuple(sorted(families)),
        text_pattern=text_pattern,
    )


def trie_pattern(names: list[str]) -> str:
    """An alternation of ``names`` factored into a prefix tree (``ab(?:c|d)`` for ``abc|abd``).

    It matches the same strings as the plain alternation, but a backtracking engine (java.util.regex in
    Spark) tries a handful of first characters at each position instead of every name; RE2 does not mind.
    Longer continuations come first so the longest name wins, as in the reader.
    """
    tree: dict[str, dict] = {}  # type: ignore[type-arg]
    for name in names:
        node = tree
        for ch in name:
            node = node.setdefault(ch, {})
        node[""] = {}

    def render(node: dict) -> str:  # type: ignore[type-arg]
        ends = "" in node
        branches = [_escape(ch) + render(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body

    return render(tree)


def _escape(name: str) -> str:
    """Escape for RE2 and java.util.regex alike: only ASCII punctuation is escaped, spaces stay."""
    return "".join("\\" + ch if re.match(r"[^\w\s]", ch) and ch.isascii() else ch for ch in name)


@cache
def load_selection() -> Selection:
    """The selection for the bundled vocabulary and population (once per process)."""
    return derive_selection(load_vocabulary(), read_population())


def matches_text(selection: Selection, text: str) -> bool:
    """Python twin of the engines' text test (used by tests and the single-patient check)."""
    return bool(selection.text_pattern and re.search(selection.text_pattern, text))
