"""A small LRU of finished assessments (as cards), keyed by a digest of everything they depend on.

The engine is pure: the same resources, hook, day and pack give the same cards. Charts are opened again
and again, so a repeat call skips reading and assessing; each answer still gets fresh card and suggestion
uuids (feedback must name the card a clinician saw) and its own audit record.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import Any

import orjson

from calcinosis.cdshooks.cards import Issued
from calcinosis.store.records import IssuedCard


def cache_key(*parts: Any) -> bytes:
    return orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)


class CardCache:
    def __init__(self, size: int = 256) -> None:
        self._items: OrderedDict[bytes, tuple[Issued, str, dict[str, Any] | None]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: bytes) -> tuple[Issued, str, dict[str, Any] | None] | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
        return restamp(found[0]), found[1], found[2]

    def put(
        self, key: bytes, issued: Issued, input_hash: str, assessment: dict[str, Any] | None = None
    ) -> None:
        if self._size <= 0:
            return
        with self._lock:
            self._items[key] = (issued, input_hash, assessment)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def restamp(issued: Issued) -> Issued:
    """The same cards with new card and suggestion uuids."""
    out = Issued()
    for card, record in zip(issued.cards, issued.records, strict=True):
        suggestions = (
            [s.model_copy(update={"uuid": str(uuid.uuid4())}) for s in card.suggestions]
            if card.suggestions
            else None
        )
        fresh = card.model_copy(update={"uuid": str(uuid.uuid4()), "suggestions": suggestions})
        out.cards.append(fresh)
        out.records.append(IssuedCard(**{**record.model_dump(), "uuid": fresh.uuid}))
    return out
