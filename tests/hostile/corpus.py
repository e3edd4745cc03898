"""Hostile inputs, as raw bytes: what an attacker, a broken EHR integration or a fuzzer sends.

Each entry is ``(name, body)``. Bodies are bytes so that invalid JSON and invalid UTF-8 can be sent as
they are. ``embeddable`` ones are JSON values that can stand inside a larger request (e.g. as a CDS Hooks
prefetch value).
"""

from __future__ import annotations

from typing import Any

import orjson

from tests.servicekit import fhirdata as F

Corpus = list[tuple[str, bytes]]


def _bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


def _case(**fields: Any) -> bytes:
    return orjson.dumps(fields)


def bad_json() -> Corpus:
    return [
        ("empty", b""),
        ("whitespace", b"   \n\t "),
        ("truncated object", b'{"age_years": 40, "conditions": ['),
        ("single quotes", b"{'age_years': 40}"),
        ("trailing comma", b'{"age_years": 40,}'),
        ("trailing garbage", b'{"age_years": 40} xyz'),
        ("two documents", b'{"age_years": 40}{"age_years": 41}'),
        ("comment", b'{"age_years": 40 /* hi */}'),
        ("bare string", b'"calcinosis"'),
        ("null", b"null"),
        ("number", b"42"),
        ("array of cases", b'[{"age_years": 40}]'),
        ("NaN", b'{"age_years": NaN}'),
        ("Infinity", b'{"age_years": Infinity}'),
        ("-Infinity", b'{"labs": [{"analyte": "calcium", "value": -Infinity}]}'),
        ("overflowing number", b'{"age_years": 1e999}'),
        ("huge integer", b'{"age_years": ' + b"9" * 5000 + b"}"),
        ("tiny float", b'{"labs": [{"analyte": "calcium", "value": 1e-400, "unit": "mg/dL"}]}'),
        ("byte order mark", b'\xef\xbb\xbf{"age_years": 40}'),
        ("utf-16", '{"age_years": 40}'.encode("utf-16")),
        ("binary", bytes(range(256))),
        ("duplicate key", b'{"age_years": 40, "age_years": 90}'),
        ("duplicate resourceType", b'{"resourceType": "Patient", "id": "p", "resourceType": "Bundle"}'),
        ("duplicate nested key", b'{"conditions": [{"text": "ssc", "text": "esrd"}]}'),
    ]


def deep() -> Corpus:
    out: Corpus = []
    for depth in (65, 255, 1020, 1100, 100_000):
        out.append((f"arrays nested {depth}", b"[" * depth + b"]" * depth))
        out.append((f"case with {depth} nested arrays", b'{"x": ' + b"[" * depth + b"]" * depth + b"}"))
    out.append(("objects nested 300", b'{"a":' * 300 + b"1" + b"}" * 300))
    out.append(("unclosed nesting 50000", b"[" * 50_000))
    return out


def unicode_junk() -> Corpus:
    pre, post = b'{"conditions": [{"text": "systemic sclerosis ', b'"}]}'
    return [
        ("lone high surrogate escape", pre + b"\\ud800" + post),
        ("lone low surrogate escape", pre + b"\\udc00" + post),
        ("reversed surrogate pair", pre + b"\\ude00\\ud83d" + post),
        ("encoded surrogate (CESU)", pre + b"\xed\xa0\x80" + post),
        ("overlong slash", pre + b"\xc0\xaf" + post),
        ("overlong NUL", pre + b"\xc0\x80" + post),
        ("overlong three bytes", pre + b"\xe0\x80\xaf" + post),
        ("beyond U+10FFFF", pre + b"\xf4\x90\x80\x80" + post),
        ("stray continuation byte", pre + b"\x80" + post),
        ("truncated sequence", pre + b"\xe2\x82" + post),
        ("latin-1 byte", pre + b"\xe9" + post),
        ("NUL escape", pre + b"\\u0000" + post),
        ("NUL in a key", b'{"a\\u0000b": 1}'),
        ("raw NUL byte", pre + b"\x00" + post),
        ("raw control character", pre + b"\x07" + post),
        ("escaped controls", pre + b"\\u0001\\u001f\\b\\f" + post),
        ("bidi override", pre + "\u202e\u2066".encode() + post),
        ("zero width and BOM inside", pre + "\u200b\ufeff\u2060".encode() + post),
        ("non-characters", pre + "\ufffe\uffff\U0001fffe".encode() + post),
        ("combining marks", pre + ("e" + "\u0301" * 2000).encode() + post),
        ("emoji and astral", pre + "🦴🧪\U0010fffd".encode() + post),
        ("escaped backslash before u0000 text", pre + b"\\\\u0000" + post),
    ]


def dates() -> Corpus:
    pid = "pt-9999"
    patient = F.patient(pid, "female", "9999-12-31")
    cond = F.condition(pid, "c1", "calcinosis cutis", site="finger", onset="9999-12-31")
    lab = F.lab(pid, "o1", "17861-6", 9.9, "mg/dL", "9999-12-31T23:59:59Z")
    return [
        ("native dates in 9999", _case(birth_date="9999-12-31", as_of="9999-12-31", conditions=["ssc"])),
        ("native as_of 9999, born 1960", _case(birth_date="1960-01-01", as_of="9999-12-31")),
        ("native as_of year 1", _case(birth_date="1960-01-01", as_of="0001-01-01")),
        (
            "native lab dated 9999",
            _case(labs=[{"analyte": "calcium", "value": 9, "unit": "mg/dL", "date": "9999-12-31"}]),
        ),
        ("native year 0", _case(birth_date="0000-01-01")),
        ("native year 10000", _case(birth_date="10000-01-01")),
        ("native 30 February", _case(birth_date="2024-02-30")),
        ("native date as number", _case(birth_date=20240101)),
        ("fhir everything in 9999", orjson.dumps(_bundle([patient, cond, lab]))),
        ("fhir born 0001", orjson.dumps(_bundle([F.patient(pid, "male", "0001-01-01"), cond]))),
        (
            "fhir partial dates",
            orjson.dumps(
                _bundle([F.patient(pid, "male", "9999"), F.condition(pid, "c", "ssc", onset="9999-12")])
            ),
        ),
        (
            "fhir datetime with offset +14:00",
            orjson.dumps(
                _bundle([patient, F.lab(pid, "o2", "2777-1", 4, "mg/dL", "9999-12-31T23:59:59+14:00")])
            ),
        ),
    ]


def counts() -> Corpus:
    pid = "pt-many"
    many = [F.condition(pid, f"c{i}", "Raynaud phenomenon") for i in range(20_000)]
    within = [F.condition(pid, f"c{i}", "Raynaud phenomenon") for i in range(4_000)]
    return [
        ("20,000 native conditions", _case(conditions=["systemic sclerosis"] * 20_000)),
        ("20,000 lesion features", _case(lesions=[{"site": "finger", "features": ["painful"] * 20_000}])),
        ("20,000 FHIR entries", orjson.dumps(_bundle([F.patient(pid, "female", "1970-01-01"), *many]))),
        (
            "4,000 FHIR entries (within limits)",
            orjson.dumps(_bundle([F.patient(pid, "female", "1970-01-01"), *within])),
        ),
        ("1,000 native conditions (at the limit)", _case(conditions=["systemic sclerosis"] * 1000)),
        ("20,000 empty objects", b"[" + b",".join([b"{}"] * 20_000) + b"]"),
        ("one text of 9,999 characters", _case(conditions=[("calcinosis " * 1000)[:9_999]])),
        ("one text of 10,001 characters", _case(conditions=[("calcinosis " * 1000)[:10_001]])),
        ("a key of 20,000 characters", orjson.dumps({"k" * 20_000: 1})),
    ]


def types() -> Corpus:
    return [
        ("age as text", _case(age_years="sixty")),
        ("age negative", _case(age_years=-1)),
        ("age huge", _case(age_years=1e308)),
        ("age boolean", _case(age_years=True)),
        ("conditions as a number", _case(conditions=7)),
        ("conditions as an object", _case(conditions={"text": "ssc"})),
        ("features as an object", _case(lesions=[{"features": {"a": 1}}])),
        ("lesion count zero", _case(lesions=[{"site": "finger", "count": 0}])),
        ("lab value as text", _case(labs=[{"analyte": "calcium", "value": "high"}])),
        ("resourceType as a number", b'{"resourceType": 7}'),
        ("resourceType empty", b'{"resourceType": ""}'),
        ("unknown resource type", b'{"resourceType": "Spaceship", "id": "x"}'),
        (
            "bundle entry not a list",
            b'{"resourceType": "Bundle", "type": "collection", "entry": {"resource": {}}}',
        ),
        (
            "bundle entry of nulls",
            b'{"resourceType": "Bundle", "type": "collection", "entry": [null, 1, "x", []]}',
        ),
        (
            "bundle of bundles",
            orjson.dumps(_bundle([_bundle([_bundle([F.patient("p", "male", "1970-01-01")])])])),
        ),
        (
            "references in a loop",
            orjson.dumps(
                _bundle(
                    [
                        {
                            **F.patient("p", "male", "1970-01-01"),
                            "link": [{"other": {"reference": "Patient/p"}}],
                        }
                    ]
                )
            ),
        ),
        (
            "observation value of every type",
            orjson.dumps(
                _bundle(
                    [
                        F.patient("p", "male", "1970-01-01"),
                        {
                            "resourceType": "Observation",
                            "id": "o",
                            "status": "final",
                            "subject": {"reference": "Patient/p"},
                            "code": {"coding": [{"system": "http://loinc.org", "code": "17861-6"}]},
                            "valueQuantity": {"value": "NaN", "unit": []},
                        },
                    ]
                )
            ),
        ),
    ]


def all_bodies() -> Corpus:
    return [*bad_json(), *deep(), *unicode_junk(), *dates(), *counts(), *types()]


def embeddable() -> Corpus:
    """Entries that are one JSON value (or meant to be one) and can stand inside a CDS Hooks request."""
    return [(n, b) for n, b in all_bodies() if b.strip() and n not in ("utf-16", "binary", "byte order mark")]
