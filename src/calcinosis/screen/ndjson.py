"""Bulk-export layout: which NDJSON files hold which resource type, and how lines name their patient.

A FHIR Bulk Data export is a folder of NDJSON files, one resource per line, one or more files per
resource type (``Patient.ndjson``, ``Observation.000.ndjson``, ``1.Condition.ndjson.gz`` ...). When the
folder holds the export's ``manifest.json`` its ``output[].type``/``url`` pairs decide; otherwise the
type is read from the file name. Files of other resource types are listed as not read, never guessed at.
Files the manifest lists but that are not in the folder are kept as missing, by type, for the screen to
refuse or, when allowed, to report on every assessment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from calcinosis.errors import InputError

# The resource types screening reads, in the order a patient's resources are handed to the FHIR reader.
RESOURCE_TYPES: tuple[str, ...] = (
    "Patient",
    "Condition",
    "Observation",
    "MedicationRequest",
    "MedicationStatement",
    "MedicationAdministration",
    "Procedure",
)
# Types whose codes decide whether a patient is screened (Observations and Patients never select).
SELECTOR_TYPES: tuple[str, ...] = (
    "Condition",
    "MedicationRequest",
    "MedicationStatement",
    "MedicationAdministration",
    "Procedure",
)

SUFFIXES: tuple[str, ...] = (".ndjson.gz", ".ndjson", ".jsonl.gz", ".jsonl")
_TYPE_IN_NAME = re.compile(r"(?:^|[._-])(" + "|".join(RESOURCE_TYPES) + r")(?:[._-]|$)")
# `Patient/123`, `Patient/123/_history/2` or an absolute URL ending so.
_PATIENT_REFERENCE = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
# The same rule for the engines' SQL dialects (RE2 / Java regex): group 1 is the patient id.
PATIENT_REFERENCE_PATTERN = _PATIENT_REFERENCE.pattern


@dataclass(frozen=True)
class ExportFiles:
    """The NDJSON files of one export, by resource type; files of other types are kept aside by name."""

    root: Path
    by_type: dict[str, tuple[Path, ...]]
    not_read: tuple[Path, ...] = field(default=())
    missing: dict[str, tuple[Path, ...]] = field(default_factory=dict)

    @property
    def all_files(self) -> tuple[Path, ...]:
        return tuple(p for t in RESOURCE_TYPES for p in self.by_type.get(t, ()))

    def files_of(self, types: tuple[str, ...]) -> tuple[Path, ...]:
        return tuple(p for t in types for p in self.by_type.get(t, ()))

    @property
    def total_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.all_files)


def patient_id_from_reference(reference: str | None) -> str | None:
    """The patient id a ``subject.reference`` points at, or None when it does not name a Patient."""
    if not reference:
        return None
    m = _PATIENT_REFERENCE.search(reference)
    return m.group(1) if m else None


def type_from_name(name: str) -> str | None:
    stem = name
    for suffix in SUFFIXES:
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    else:
        return None
    m = _TYPE_IN_NAME.search(stem)
    return m.group(1) if m else None


def _from_manifest(root: Path, manifest: Path) -> tuple[dict[str, list[Path]], dict[str, list[Path]]] | None:
    """Files by type as the manifest lists them, and those it lists that are not there."""
    try:
        data: Any = orjson.loads(manifest.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{manifest}: not valid JSON ({exc})") from exc
    outputs = data.get("output") if isinstance(data, dict) else None
    if not isinstance(outputs, list):
        return None
    found: dict[str, list[Path]] = {}
    missing: dict[str, list[Path]] = {}
    for item in outputs:
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            continue
        path = root / Path(str(item["url"]).rsplit("/", 1)[-1])
        (found if path.exists() else missing).setdefault(str(item.get("type", "")), []).append(path)
    return found, missing


def find_export_files(root: Path) -> ExportFiles:
    """The export's NDJSON files by resource type. Raises InputError when there is nothing to read."""
    if not root.is_dir():
        raise InputError(f"{root}: not a directory (expected a FHIR bulk export folder)")
    manifest = root / "manifest.json"
    listed = _from_manifest(root, manifest) if manifest.exists() else None
    by_type: dict[str, list[Path]] = {}
    not_read: list[Path] = []
    missing: dict[str, list[Path]] = {}
    if listed is not None:
        for rtype, paths in listed[0].items():
            (by_type.setdefault(rtype, []) if rtype in RESOURCE_TYPES else not_read).extend(paths)
        missing = {t: ps for t, ps in listed[1].items() if t in RESOURCE_TYPES}
    else:
        for path in sorted(root.iterdir()):
            if not path.is_file() or not path.name.endswith(SUFFIXES):
                continue
            found = type_from_name(path.name)
            (by_type.setdefault(found, []) if found else not_read).append(path)
    if not any(by_type.values()):
        absent = ", ".join(p.name for t in RESOURCE_TYPES for p in missing.get(t, ()))
        listed_but = f" (manifest.json lists {absent}, missing)" if absent else ""
        raise InputError(f"{root}: no NDJSON files for {', '.join(RESOURCE_TYPES)}{listed_but}")
    return ExportFiles(
        root=root,
        by_type={t: tuple(sorted(by_type[t])) for t in RESOURCE_TYPES if by_type.get(t)},
        not_read=tuple(sorted(not_read)),
        missing={t: tuple(sorted(missing[t])) for t in RESOURCE_TYPES if missing.get(t)},
    )


def bundle_from_lines(resources: list[bytes] | tuple[bytes, ...]) -> bytes:
    """A collection Bundle (as JSON bytes) holding the given resource lines, in order."""
    entries = b",".join(b'{"resource":' + r + b"}" for r in resources)
    return b'{"resourceType":"Bundle","type":"collection","entry":[' + entries + b"]}"
