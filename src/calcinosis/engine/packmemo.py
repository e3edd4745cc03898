"""Pack-derived parts of the engine's output, the same for every patient: built once per pack and record."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Protocol, TypeVar

from calcinosis.pack.knowledge import KnowledgePack


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_Identified)
R = TypeVar("R")


def per_pack(build: Callable[[T, KnowledgePack], R]) -> Callable[[T, KnowledgePack], R]:
    """Cache ``build(record, pack)`` under the pack's content hash and the record's id."""
    cache: dict[tuple[str, str], R] = {}

    @wraps(build)
    def cached(record: T, pack: KnowledgePack) -> R:
        key = (pack.content_hash, record.id)
        if key not in cache:
            cache[key] = build(record, pack)
        return cache[key]

    return cached
