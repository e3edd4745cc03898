"""Bulk-export layout: files by resource type, patient references, bundles of lines."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from calcinosis.errors import InputError
from calcinosis.screen.ndjson import (
    bundle_from_lines,
    find_export_files,
    patient_id_from_reference,
    type_from_name,
)


def test_files_are_found_by_name_when_there_is_no_manifest(mixed_clinic: Path) -> None:
    export = find_export_files(mixed_clinic)
    assert [p.name for p in export.by_type["Condition"]] == ["Condition.001.ndjson.gz", "Condition.ndjson"]
    assert set(export.by_type) == {
        "Patient",
        "Condition",
        "Observation",
        "MedicationRequest",
        "MedicationStatement",
        "MedicationAdministration",
        "Procedure",
    }
    assert [p.name for p in export.not_read] == ["Encounter.ndjson"]


def test_files_follow_the_manifest_when_one_is_present(tmp_path: Path) -> None:
    for name in ("Patient.ndjson", "obs-part-1.ndjson", "Condition.ndjson"):
        (tmp_path / name).write_text('{"resourceType":"Patient","id":"a"}\n')
    manifest = {
        "output": [
            {"type": "Patient", "url": "https://server.invalid/files/Patient.ndjson"},
            {"type": "Observation", "url": "https://server.invalid/files/obs-part-1.ndjson"},
            {"type": "Encounter", "url": "https://server.invalid/files/Condition.ndjson"},
        ]
    }
    (tmp_path / "manifest.json").write_bytes(orjson.dumps(manifest))
    export = find_export_files(tmp_path)
    assert {t: [p.name for p in ps] for t, ps in export.by_type.items()} == {
        "Patient": ["Patient.ndjson"],
        "Observation": ["obs-part-1.ndjson"],
    }
    assert [p.name for p in export.not_read] == ["Condition.ndjson"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Patient.ndjson", "Patient"),
        ("Observation.003.ndjson.gz", "Observation"),
        ("1.MedicationRequest.ndjson", "MedicationRequest"),
        ("export_Procedure.jsonl", "Procedure"),
        ("Encounter.ndjson", None),
        ("Patient.json", None),
        ("PatientHistory.ndjson", None),
    ],
)
def test_resource_type_is_read_from_the_file_name_when_named(name: str, expected: str | None) -> None:
    assert type_from_name(name) == expected


def test_missing_folder_is_an_input_error_when_screened(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a directory"):
        find_export_files(tmp_path / "absent")


def test_folder_without_ndjson_is_an_input_error_when_screened(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("nothing here")
    with pytest.raises(InputError, match="no NDJSON files"):
        find_export_files(tmp_path)


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("Patient/123", "123"),
        ("Patient/a-b.c/_history/3", "a-b.c"),
        ("https://ehr.invalid/fhir/Patient/p9", "p9"),
        ("Group/7", None),
        ("urn:uuid:3f2a9c1e-0000-4000-8000-000000000000", None),
        ("Patient/", None),
        ("", None),
        (None, None),
    ],
)
def test_patient_id_is_read_from_a_reference_when_it_names_a_patient(
    reference: str | None, expected: str | None
) -> None:
    assert patient_id_from_reference(reference) == expected


def test_lines_become_a_collection_bundle_in_order_when_grouped() -> None:
    lines = [b'{"resourceType":"Patient","id":"a"}', b'{"resourceType":"Condition","id":"c"}']
    bundle = orjson.loads(bundle_from_lines(lines))
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "collection"
    assert [e["resource"]["id"] for e in bundle["entry"]] == ["a", "c"]
