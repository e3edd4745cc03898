"""Every FHIR example is assessed exactly like its native twin (same clinical scenario, same file name)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from calcinosis.engine import Assessment, assess
from calcinosis.inputs import read_patient
from tests.conftest import CASES, ROOT, expectations

FHIR = ROOT / "examples" / "fhir"
NAMES = sorted(p.stem for p in FHIR.glob("*.json"))


def assessed(path: Path) -> Assessment:
    case, issues = read_patient(json.loads(path.read_text()))
    return assess(case, issues=issues)


def summary(a: Assessment) -> dict[str, Any]:
    return {
        "subtype": (a.subtype.code.value, a.subtype.variant, a.subtype.confidence),
        "alternatives": [(x.code.value, x.variant, x.confidence) for x in a.subtype.alternatives],
        "workup": [(w.id, w.status.value) for w in a.workup],
        "therapies": [(t.id, t.stance.value) for t in a.therapies],
        "alerts": sorted(al.id for al in a.alerts),
        "patient_cautions": sorted(
            (t.id, c.id) for t in a.therapies for c in t.cautions if c.patient_specific
        ),
    }


def test_every_fhir_example_has_a_native_twin() -> None:
    assert NAMES and all((CASES / f"{n}.json").exists() for n in NAMES)


def test_fhir_examples_cover_every_expected_subtype_and_variant() -> None:
    expected = expectations()
    wanted = {(e["code"], e.get("variant")) for e in expected.values()}
    covered = {(expected[n]["code"], expected[n].get("variant")) for n in NAMES if n in expected}
    assert wanted <= covered, wanted - covered


@pytest.mark.parametrize("name", NAMES)
def test_fhir_example_is_assessed_like_its_native_twin_when(name: str) -> None:
    assert summary(assessed(FHIR / f"{name}.json")) == summary(assessed(CASES / f"{name}.json"))


def test_ehr_like_searchset_uses_icd10cm_loinc_and_rxnorm_codes() -> None:
    data = json.loads((FHIR / "lcssc-circumscripta-fingertips.json").read_text())
    systems = {
        c["system"]
        for e in data["entry"]
        for key in ("code", "medicationCodeableConcept")
        for c in e["resource"].get(key, {}).get("coding", [])
    }
    assert data["type"] == "searchset"
    assert {
        "http://hl7.org/fhir/sid/icd-10-cm",
        "http://loinc.org",
        "http://www.nlm.nih.gov/research/umls/rxnorm",
    } <= systems


@pytest.mark.parametrize("name", NAMES)
def test_fhir_example_reads_without_warnings_about_its_structure_when(name: str) -> None:
    _, issues = read_patient(json.loads((FHIR / f"{name}.json").read_text()))
    assert not [i for i in issues if "does not resolve" in i.message or "not used:" in i.message]
