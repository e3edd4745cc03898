"""The concept vocabulary (``data/concepts.yaml``): ids, kinds, synonyms and implied broader concepts.

Free text is matched on word boundaries, case-insensitively; longer synonyms win over the shorter ones they
contain (so "juvenile dermatomyositis" is not also read as plain "dermatomyositis" twice).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from calcinosis.datacache import cached, package_code, safe_yaml
from calcinosis.errors import PackError
from calcinosis.patient.matching import TermMatcher

ConceptKind = Literal["condition", "event", "medication"]
# Short synonyms are abbreviations (CKD, HD, SLE...) and count only when not written all in lower case,
# except these, which are ordinary words.
ABBREVIATION_MAX = 4
PLAIN_WORDS = frozenset({"acne", "burn", "iron", "scar", "xray", "cyst", "lump"})


class Concept(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    kind: ConceptKind
    synonyms: tuple[str, ...] = ()
    implies: tuple[str, ...] = ()


class Vocabulary:
    def __init__(self, concepts: tuple[Concept, ...]) -> None:
        self.concepts = {c.id: c for c in concepts}
        for c in concepts:
            for parent in c.implies:
                if parent not in self.concepts:
                    raise PackError(f"concepts.yaml: {c.id}.implies: unknown concept '{parent}'")
        terms = [(syn, c.id) for c in concepts for syn in (c.id.replace("-", " "), *c.synonyms)]
        kinds = {c.kind for c in concepts}
        abbreviations = frozenset(
            s.lower()
            for s, _ in terms
            if len(s) <= ABBREVIATION_MAX and " " not in s and s.lower() not in PLAIN_WORDS
        )
        self._all = TermMatcher(terms, abbreviations)
        self._by_kind = {
            k: TermMatcher([(s, cid) for s, cid in terms if self.concepts[cid].kind == k], abbreviations)
            for k in kinds
        }

    def expand(self, concept_ids: set[str]) -> set[str]:
        """The concepts plus everything they imply, transitively."""
        out = set()
        stack = list(concept_ids)
        while stack:
            cid = stack.pop()
            if cid in out or cid not in self.concepts:
                continue
            out.add(cid)
            stack.extend(self.concepts[cid].implies)
        return out

    def find(self, text: str, kind: ConceptKind | None = None) -> set[str]:
        """Concept ids asserted in free text (longest synonyms first; negated mentions skipped)."""
        matcher = self._all if kind is None else self._by_kind.get(kind)
        return matcher.find(text) if matcher else set()

    def kind_of(self, concept_id: str) -> ConceptKind | None:
        c = self.concepts.get(concept_id)
        return c.kind if c else None


@cache
def load_vocabulary() -> Vocabulary:
    """Once per process, from the validated cache when it matches (:mod:`calcinosis.datacache`)."""
    path = resources.files("calcinosis.patient") / "data" / "concepts.yaml"
    return cached("patient-concepts", [path], package_code(__file__), _build, Vocabulary)


def _build() -> Vocabulary:
    path = resources.files("calcinosis.patient") / "data" / "concepts.yaml"
    data = safe_yaml(path.read_text(encoding="utf-8"))
    try:
        concepts = tuple(Concept.model_validate(c) for c in data["concepts"])
    except (ValidationError, KeyError, TypeError) as exc:
        raise PackError(f"concepts.yaml: {exc}") from exc
    return Vocabulary(concepts)
