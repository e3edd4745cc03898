"""Bounded work per request: strict JSON decoding at the edge, and the limits every input path applies.

Every path that takes a patient's data (``POST /assess``, the CDS Hooks services and the data they fetch,
the web upload and form, ``calcinosis assess``) decodes it here, so work grows at most with the limits:

- ``max_body_bytes``: bytes of one body or file (413 over HTTP);
- ``max_json_depth``: nesting of arrays and objects;
- ``max_resources``: FHIR resources (objects with a ``resourceType``) in one request, wherever they are;
- ``max_list_items``: items in one JSON array (a Bundle's ``entry`` counts as resources instead);
- ``max_text_chars``: characters in one string or key (in FHIR input, narrative ``div`` and attachment
  ``data`` are excepted: nothing reads them, and they are bounded by the body size).

Each is a setting (``CALCINOSIS_MAX_*``); a request over one is refused with :class:`LimitExceeded`, whose
message names the setting. The decoding is strict: NaN and Infinity, numbers that overflow, invalid UTF-8
(overlong forms, encoded surrogates), lone surrogate escapes, NUL characters and duplicate object keys are
input errors, never passed on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import orjson

from calcinosis.errors import InputError
from calcinosis.settings import Settings

FHIR_UNREAD_TEXT = frozenset({"div", "data"})  # Narrative.div, Attachment.data: never read, body-bounded
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"(\s*:)?')
_NUL = re.compile(rb"(?:^|[^\\])(?:\\\\)*\\u0000")


class LimitExceeded(InputError):
    """A request over one of the limits; the message names the setting and its value."""

    code = "too-long"

    def __init__(self, what: str, setting: str, value: int, status: int = 422) -> None:
        super().__init__(f"{what} (limit CALCINOSIS_{setting.upper()}={value})")
        self.http_status = status
        self.setting = setting


@dataclass(frozen=True)
class Limits:
    body_bytes: int = 2_000_000
    json_depth: int = 64
    resources: int = 5000
    list_items: int = 1000
    text_chars: int = 10_000

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            body_bytes=settings.max_body_bytes,
            json_depth=settings.max_json_depth,
            resources=settings.max_resources,
            list_items=settings.max_list_items,
            text_chars=settings.max_text_chars,
        )

    def too_large(self, where: str) -> LimitExceeded:
        return LimitExceeded(
            f"{where}: larger than {self.body_bytes} bytes", "max_body_bytes", self.body_bytes, 413
        )

    def too_many_resources(self, where: str) -> LimitExceeded:
        return LimitExceeded(
            f"{where}: more than {self.resources} FHIR resources", "max_resources", self.resources
        )


def decode_strict(raw: bytes, limits: Limits, where: str = "input", *, fhir: bool | None = None) -> Any:
    """Decode one JSON document within ``limits``. ``fhir`` says whether narrative and attachment text is
    exempt from the text limit (default: when the top level has a ``resourceType``). Raises InputError."""
    if len(raw) > limits.body_bytes:
        raise limits.too_large(where)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth" in str(exc) or "recursion" in str(exc).lower():
            raise _too_deep(where, "", limits) from None
        raise InputError(f"{where}: not valid JSON ({exc})") from None
    if fhir is None:
        fhir = isinstance(data, dict) and isinstance(data.get("resourceType"), str)
    keys = check_tree(data, limits, where, fhir=fhir)
    if b"\\u0000" in raw and _NUL.search(raw):
        raise InputError(f"{where}: text holds a NUL character (\\u0000)")
    if keys != sum(1 for colon in _STRING.findall(raw) if colon):
        raise InputError(f"{where}: duplicate key {_duplicate(raw)!r} in an object")
    return data


def check_tree(data: Any, limits: Limits, where: str, *, fhir: bool, resources: int = 0) -> int:
    """Check decoded JSON against the limits; returns the number of object keys. ``resources`` already
    counted elsewhere in the same request count towards ``max_resources``."""
    try:
        return _walk(data, limits, fhir, resources, where, track=False)
    except _Over:
        _walk(data, limits, fhir, resources, where, track=True)  # again, to name the place
        raise AssertionError("unreachable: the second walk raises") from None  # pragma: no cover


def count_resources(data: Any) -> int:
    """FHIR resources (objects with a string ``resourceType``) anywhere in ``data``."""
    found = 0
    stack = [data]
    while stack:
        node = stack.pop()
        if type(node) is dict:
            if isinstance(node.get("resourceType"), str):
                found += 1
            stack.extend(v for v in node.values() if type(v) is dict or type(v) is list)
        elif type(node) is list:
            stack.extend(v for v in node if type(v) is dict or type(v) is list)
    return found


class _Over(Exception):
    """A limit was passed (the fast walk does not know where)."""


def _too_deep(where: str, path: str, limits: Limits) -> LimitExceeded:
    at = f"{where}.{path}" if path else where
    return LimitExceeded(
        f"{at}: JSON nested deeper than {limits.json_depth} levels", "max_json_depth", limits.json_depth
    )


def _walk(data: Any, limits: Limits, fhir: bool, resources: int, where: str, *, track: bool) -> int:
    """Iterative walk (no recursion, whatever the depth). Without ``track`` a limit passed raises _Over;
    with it, the LimitExceeded naming the place."""
    depth_max, items_max, text_max, res_max = (
        limits.json_depth,
        limits.list_items,
        limits.text_chars,
        limits.resources,
    )
    keys = 0
    stack: list[tuple[Any, int, str]] = [(data, 1, "")]

    def over(error: LimitExceeded) -> _Over | LimitExceeded:
        return error if track else _Over()

    def at(path: str) -> str:
        return f"{where}.{path}" if path else where

    if type(data) is str and len(data) > text_max:
        raise over(_too_long(at(""), limits))
    while stack:
        node, depth, path = stack.pop()
        if depth > depth_max:
            raise over(_too_deep(where, path, limits))
        if type(node) is dict:
            keys += len(node)
            if type(node.get("resourceType")) is str:
                resources += 1
                if resources > res_max:
                    raise over(limits.too_many_resources(where))
            for k, v in node.items():
                if len(k) > text_max:
                    raise over(_too_long(at(path) + " (a key)", limits))
                tv = type(v)
                if tv is str:
                    if len(v) > text_max and not (fhir and k in FHIR_UNREAD_TEXT):
                        raise over(_too_long(at(f"{path}.{k}" if path else k), limits))
                elif tv is dict:
                    stack.append((v, depth + 1, (f"{path}.{k}" if path else k) if track else ""))
                elif tv is list:
                    sub = (f"{path}.{k}" if path else k) if track else ""
                    if len(v) > items_max and not (k == "entry" and node.get("resourceType") == "Bundle"):
                        raise over(_too_many_items(at(sub), limits))
                    stack.append((v, depth + 1, sub))
        elif type(node) is list:
            if depth == 1 and len(node) > items_max:
                raise over(_too_many_items(where, limits))
            for i, v in enumerate(node):
                tv = type(v)
                if tv is str:
                    if len(v) > text_max:
                        raise over(_too_long(at(f"{path}[{i}]"), limits))
                elif tv is dict or tv is list:
                    if tv is list and len(v) > items_max:
                        raise over(_too_many_items(at(f"{path}[{i}]"), limits))
                    stack.append((v, depth + 1, f"{path}[{i}]" if track else ""))
    return keys


def _too_long(at: str, limits: Limits) -> LimitExceeded:
    return LimitExceeded(
        f"{at}: text longer than {limits.text_chars} characters", "max_text_chars", limits.text_chars
    )


def _too_many_items(at: str, limits: Limits) -> LimitExceeded:
    return LimitExceeded(f"{at}: more than {limits.list_items} items", "max_list_items", limits.list_items)


def _duplicate(raw: bytes) -> str:
    """The first key repeated within one object (the slow path, once a duplicate is known to exist)."""
    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for k, _ in items:
            if k in seen and not found:
                found.append(k)
            seen.add(k)
        return dict(items)

    json.loads(raw, object_pairs_hook=pairs)
    key = found[0] if found else "?"
    return key if len(key) <= 60 else key[:57] + "..."
