"""A small LRU of finished results, keyed by a digest of everything they depend on.

The engine is pure: the same resources, hook, day and pack give the same answer. Charts are opened again
and again, so a repeat call skips reading and assessing. What must differ on every answer (CDS Hooks card
and suggestion uuids: feedback must name the card a clinician saw) is renewed by the ``fresh`` function
the cache is given, applied to every hit.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import orjson

V = TypeVar("V")


def cache_key(*parts: Any) -> bytes:
    """The key for ``parts`` (JSON-serialisable; raises TypeError or orjson.JSONEncodeError otherwise)."""
    return orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)


class ResultCache(Generic[V]):
    def __init__(self, size: int = 256, fresh: Callable[[V], V] | None = None) -> None:
        self._items: OrderedDict[bytes, V] = OrderedDict()
        self._size = size
        self._fresh = fresh
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: bytes) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
        return self._fresh(found) if self._fresh is not None else found

    def put(self, key: bytes, value: V) -> None:
        if self._size <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
