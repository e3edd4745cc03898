"""Small readers for FHIR R4 datatypes (CodeableConcept, dates, annotations) used by the resource readers."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from calcinosis.patient.codes import load_vocabulary
from calcinosis.patient.models import Coding

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def codings(cc: Any) -> tuple[Coding, ...]:
    """The codings of a CodeableConcept that have both a system and a code."""
    if not isinstance(cc, dict):
        return ()
    out = []
    for c in cc.get("coding") or []:
        if isinstance(c, dict) and isinstance(c.get("code"), str) and isinstance(c.get("system"), str):
            display = c.get("display") if isinstance(c.get("display"), str) else None
            out.append(Coding(system=c["system"], code=c["code"], display=display))
    return tuple(out)


def concept_text(cc: Any) -> str | None:
    """The human text of a CodeableConcept: its ``text``, else the displays of its codings."""
    if not isinstance(cc, dict):
        return None
    text = cc.get("text")
    if isinstance(text, str) and text.strip():
        return text.strip()
    displays = [
        c["display"].strip()
        for c in cc.get("coding") or []
        if isinstance(c, dict) and isinstance(c.get("display"), str) and c["display"].strip()
    ]
    return "; ".join(dict.fromkeys(displays)) or None


def all_text(cc: Any) -> str:
    """Text and every display of a CodeableConcept, for matching words."""
    if not isinstance(cc, dict):
        return ""
    parts = [cc.get("text")] + [c.get("display") for c in cc.get("coding") or [] if isinstance(c, dict)]
    return " ; ".join(p for p in parts if isinstance(p, str))


def first_code(cc: Any) -> str | None:
    """The first coding's code (used for FHIR status-like CodeableConcepts)."""
    if not isinstance(cc, dict):
        return None
    for c in cc.get("coding") or []:
        if isinstance(c, dict) and isinstance(c.get("code"), str):
            return str(c["code"])
    return None


def parse_date(value: Any) -> date | None:
    """A FHIR date, dateTime or instant as a date (partial dates take the first day). None if unreadable."""
    if not isinstance(value, str):
        return None
    m = _DATE.match(value.strip())
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1))
    except ValueError:
        return None


def bad_date(value: Any) -> bool:
    return value is not None and parse_date(value) is None


def when(resource: dict[str, Any], *prefixes: str) -> tuple[date | None, str | None]:
    """The first date among ``<prefix>DateTime``, ``<prefix>Period.start``, ``<prefix>Instant`` and plain
    ``<prefix>`` elements; also returns the element name read (or a bad one, to report)."""
    for prefix in prefixes:
        for name in (f"{prefix}DateTime", f"{prefix}Instant", prefix):
            if name in resource and isinstance(resource[name], str):
                return parse_date(resource[name]), name
        period = resource.get(f"{prefix}Period")
        if isinstance(period, dict):
            return parse_date(period.get("start") or period.get("end")), f"{prefix}Period"
    return None, None


def _annotations(resource: dict[str, Any]) -> list[dict[str, Any]]:
    found = resource.get("note")
    return [
        n
        for n in (found if isinstance(found, list) else [])
        if isinstance(n, dict) and isinstance(n.get("text"), str) and n["text"].strip()
    ]


def notes(resource: dict[str, Any]) -> list[str]:
    return [n["text"].strip() for n in _annotations(resource)]


def dated_notes(resource: dict[str, Any]) -> list[tuple[str, date | None]]:
    """Each note's text with its ``time`` (None when absent or unreadable)."""
    return [(n["text"].strip(), parse_date(n.get("time"))) for n in _annotations(resource)]


def site_text(cc: Any) -> str | None:
    """A body site's words: its text or displays, else the word the code sets give its coding."""
    shown = concept_text(cc)
    if shown:
        return shown
    vocab = load_vocabulary()
    words = [w for c in codings(cc) if (w := vocab.body_site_word(c.system, c.code))]
    return "; ".join(dict.fromkeys(words)) or None


def body_site(resource: dict[str, Any], element: str = "bodySite") -> str | None:
    site = resource.get(element)
    if isinstance(site, list):
        texts = [t for t in (site_text(s) for s in site) if t]
        return "; ".join(texts) or None
    return site_text(site)


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(mm|cm)\b", re.I)
_COUNT = re.compile(
    r"^(?:about |approximately |around |over |more than )?(\d+)\s+(.*)$",
    re.I,
)
_WORDS = r"(?:largest|up to|about|approximately|measuring|each|size|of|the|to|,)"
_FILLER = re.compile(rf"^(?:\s*{_WORDS}\b)+|(?:\s*\b{_WORDS}\s*)+$", re.I)
_COUNTED = re.compile(r"\b(lesions?|nodules?|deposits?|papules?|plaques?|masses|mass)\b", re.I)


def lesion_description(text_items: list[str]) -> tuple[int | None, float | None, tuple[str, ...]]:
    """(count, largest size in mm, features) from lesion notes.

    Notes are split on commas, semicolons, full stops and ' and '. A piece such as "3 lesions" or "12 white
    nodules" gives the count (and keeps "white nodules" as a feature); "largest 6 mm" or "2 cm" the size.
    Every other piece is kept as written, as a feature.
    """
    count: int | None = None
    size: float | None = None
    out: list[str] = []
    for text in text_items:
        for part in re.split(r"[;\n]|,(?!\d)|\.(?!\d)|\band\b", text):
            piece = part.strip()
            for m in _SIZE.finditer(piece):
                mm = float(m.group(1)) * (10 if m.group(2).lower() == "cm" else 1)
                size = mm if size is None else max(size, mm)
            piece = _FILLER.sub("", _SIZE.sub("", piece)).strip()
            counted = _COUNT.match(piece)
            if counted and _COUNTED.search(counted.group(2)):
                n = int(counted.group(1))
                count = n if count is None else max(count, n)
                piece = counted.group(2).strip()
                if re.fullmatch(r"(lesions?|deposits?)", piece, re.I):
                    piece = ""
            word = piece.lower()
            if word and word not in out:
                out.append(word)
    return count, size, tuple(out)
