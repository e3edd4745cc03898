"""Lines and patients set aside, each with its reason, written to ``OUT_DIR/quarantine/`` and counted.

One NDJSON file per source file (``quarantine/Observation.ndjson`` for lines of ``Observation.ndjson.gz``),
each line ``{"file": ..., "reason": ..., "detail": ..., "line": <the original text>}``. Patients whose
resources the FHIR reader refused go to ``quarantine/patients.ndjson``; files that were damaged (read up to
the damage) or could not be read go to ``quarantine/files.ndjson`` (``"line": null``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import IO

import orjson

from calcinosis.screen.ndjson import SUFFIXES


class BadLineReason(StrEnum):
    NOT_JSON = "not-json"
    UNKNOWN_RESOURCE_TYPE = "unknown-resource-type"
    MISSING_SUBJECT = "missing-subject"
    PATIENT_NOT_ASSESSABLE = "patient-not-assessable"
    INVALID_UTF8 = "invalid-utf8"
    LINE_TOO_LONG = "line-too-long"
    TRUNCATED_LINE = "truncated-line"
    DAMAGED_FILE = "damaged-file"
    UNREADABLE_FILE = "unreadable-file"


FILE_REASONS = frozenset({BadLineReason.DAMAGED_FILE, BadLineReason.UNREADABLE_FILE})


@dataclass(frozen=True)
class BadLine:
    """One line of the export that could not be used. ``text`` is the line as read (None if unreadable)."""

    file: str
    reason: BadLineReason
    text: str | None
    detail: str | None = None

    def sort_key(self) -> tuple[str, str, str]:
        return (self.file, self.reason.value, self.text or "")


def describe(reason: BadLineReason, resource_type: str | None) -> str:
    """One line on why a line was set aside, the same whichever engine found it."""
    if reason is BadLineReason.NOT_JSON:
        return "the line is not valid JSON"
    if reason is BadLineReason.UNKNOWN_RESOURCE_TYPE:
        if resource_type is None:
            return "no resourceType: not a FHIR resource"
        return f"resourceType '{resource_type}' is not one the screen reads"
    if resource_type == "Patient":
        return "Patient resource without an id"
    return "subject does not reference a Patient (Patient/<id>)"


def _stem(file_name: str) -> str:
    for suffix in SUFFIXES:
        if file_name.endswith(suffix):
            return file_name[: -len(suffix)]
    return file_name


class QuarantineWriter:
    """Writes bad lines beside the results; files are created only when something is set aside."""

    def __init__(self, out_dir: Path) -> None:
        self.dir = out_dir / "quarantine"
        self.counts: Counter[str] = Counter()
        self.by_file: Counter[str] = Counter()
        self._handles: dict[str, IO[bytes]] = {}

    def __enter__(self) -> QuarantineWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def _handle(self, name: str) -> IO[bytes]:
        handle = self._handles.get(name)
        if handle is None:
            self.dir.mkdir(parents=True, exist_ok=True)
            handle = (self.dir / f"{name}.ndjson").open("wb")
            self._handles[name] = handle
        return handle

    def add(self, bad: BadLine) -> None:
        if bad.reason is BadLineReason.PATIENT_NOT_ASSESSABLE:
            name = "patients"
        elif bad.reason in FILE_REASONS:
            name = "files"
        else:
            name = _stem(bad.file)
        record = {"file": bad.file, "reason": bad.reason.value, "detail": bad.detail, "line": bad.text}
        self._handle(name).write(orjson.dumps(record) + b"\n")
        self.counts[bad.reason.value] += 1
        self.by_file[bad.file] += 1

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()
