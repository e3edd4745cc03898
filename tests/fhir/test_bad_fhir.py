"""Bad FHIR: the CLI says what and where in one line and exits 2; nothing crashes.

Only whole-input problems are errors. One unreadable Observation (an unknown unit, a malformed value) is an
input issue on that Observation and the patient is still assessed: tests/fhir/test_real_records.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from calcinosis.errors import FhirInputError
from calcinosis.fhir.facts import case_from_fhir
from tests.fhir.fhirdata import bundle, condition, patient

BAD: dict[str, tuple[Any, str]] = {
    "not-an-object": ([{"resourceType": "Patient"}], "expected a JSON object"),
    "no-resource-type": ({"type": "collection", "entry": []}, "resourceType is missing"),
    "wrong-resource-type": (
        {"resourceType": "Practitioner", "id": "x"},
        "resourceType 'Practitioner' cannot be assessed",
    ),
    "bad-bundle-type": ({"resourceType": "Bundle", "type": "bag", "entry": []}, "Bundle.type: 'bag'"),
    "entry-not-a-list": (
        {"resourceType": "Bundle", "type": "collection", "entry": {}},
        "Bundle.entry: expected a list",
    ),
    "empty-bundle": ({"resourceType": "Bundle", "type": "collection", "entry": []}, "holds no resources"),
    "entry-without-type": (
        {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"id": "x"}}]},
        "Bundle.entry[0].resource: resourceType is missing",
    ),
    "missing-patient": (bundle(condition("c1", "M34.1")), "no Patient resource, but Bundle.entry[0]"),
    "two-patients": (bundle(patient("p1"), patient("p2")), "more than one Patient"),
    "unresolved-subject": (
        bundle(patient("p1"), {**condition("c1", "M34.1"), "subject": {"reference": "Patient/p9"}}),
        "Bundle.entry[1].resource(Condition/c1).subject: reference 'Patient/p9' does not resolve",
    ),
    "bad-birth-date": (bundle(patient(birthDate="1970-13-45")), "birthDate: '1970-13-45' is not a FHIR date"),
    "bad-gender": (bundle(patient(gender="f")), "gender: 'f' is not a FHIR administrative gender"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_fhir_raises_an_input_error_naming_where_when(name: str) -> None:
    data, needle = BAD[name]
    with pytest.raises(FhirInputError) as err:
        case_from_fhir(data)
    assert needle in str(err.value)


def cli(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "calcinosis", "assess", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "name", ["not-json", "wrong-resource-type", "missing-patient", "unresolved-subject", "bad-gender"]
)
def test_cli_exits_2_with_one_line_when_fhir_is_bad(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.json"
    if name == "not-json":
        path.write_text('{"resourceType": "Bundle", "entry": [')
        needle = "not valid JSON"
    else:
        data, needle = BAD[name]
        path.write_text(json.dumps(data))
    r = cli(path)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
