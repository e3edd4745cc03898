"""A SNOMED-coded export written the way Synthea writes records: every ESRD/dialysis patient is selected and
none is refused whole (the urine albumin/creatinine ratio is not serum creatinine, an eGFR in an unknown unit
is an issue on that Observation, values reported only as an interpretation are kept)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import orjson
import pytest

from calcinosis.fhir.facts import case_from_fhir
from calcinosis.screen import ScreenOptions, ScreenResult, run_screen
from calcinosis.screen.ndjson import RESOURCE_TYPES, SELECTOR_TYPES
from calcinosis.synth import generate_export
from calcinosis.synth.codebook import SYNTHEA_ACR
from tests.screen.conftest import AS_OF, assessments, bundles_by_patient, read_ndjson

PATIENTS = 1000
SEED = 23


def truth(export: Path) -> dict[str, tuple[str, set[str]]]:
    rows = [line.split("\t") for line in (export / "scenarios.tsv").read_text().splitlines()[1:]]
    return {r[0]: (r[1], set(filter(None, r[3].split(",")))) for r in rows}


def resources(export: Path, rtype: str) -> list[dict[str, object]]:
    path = export / f"{rtype}.ndjson"
    return [orjson.loads(line) for line in read_ndjson(path)] if path.exists() else []


@pytest.fixture(scope="module")
def synthea_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bulk") / "synthea"
    generate_export(out, PATIENTS, SEED, coding="synthea", bad_line_rate=0.0)
    return out


@pytest.fixture(scope="module")
def synthea_screen(tmp_path_factory: pytest.TempPathFactory, synthea_export: Path) -> ScreenResult:
    out = tmp_path_factory.mktemp("screen") / "synthea"
    return run_screen(ScreenOptions(synthea_export, out, as_of=AS_OF, workers=1, progress=False))


def test_medication_administration_is_read_and_selects(synthea_export: Path) -> None:
    assert "MedicationAdministration" in RESOURCE_TYPES and "MedicationAdministration" in SELECTOR_TYPES
    assert resources(synthea_export, "MedicationAdministration")


def test_export_is_coded_in_snomed_with_the_records_that_refused_patients_before(
    synthea_export: Path,
) -> None:
    conditions = resources(synthea_export, "Condition")
    systems = {c["system"] for r in conditions for c in r["code"].get("coding", [])}  # type: ignore[attr-defined]
    assert "http://snomed.info/sct" in systems and "http://hl7.org/fhir/sid/icd-10-cm" not in systems
    observations = resources(synthea_export, "Observation")
    acr = [o for o in observations if o["code"]["coding"][0]["code"] == SYNTHEA_ACR.code]  # type: ignore[index]
    assert acr and all("Creatinine" in str(o["code"]["text"]) for o in acr)  # type: ignore[index]
    assert any(
        "interpretation" in o and "valueQuantity" not in o and "valueString" not in o for o in observations
    )
    given = resources(synthea_export, "MedicationAdministration")
    assert any("calcium" in str(m["medicationCodeableConcept"]).lower() for m in given)


def test_every_esrd_or_dialysis_patient_is_selected_and_none_is_refused_whole(
    synthea_export: Path, synthea_screen: ScreenResult
) -> None:
    kidney = {pid for pid, (_, tags) in truth(synthea_export).items() if tags & {"esrd", "dialysis"}}
    assert len(kidney) >= 10
    assessed = set(assessments(synthea_screen.out_dir))
    assert kidney <= assessed, sorted(kidney - assessed)
    assert synthea_screen.not_assessable == 0
    assert "patient-not-assessable" not in synthea_screen.quarantined


def test_dialysis_patients_coded_only_by_their_dialysis_procedure_are_selected(
    synthea_export: Path, synthea_screen: ScreenResult
) -> None:
    only_procedure = {
        pid for pid, (_, tags) in truth(synthea_export).items() if "dialysis-procedure-only" in tags
    }
    assert only_procedure
    assert only_procedure <= set(assessments(synthea_screen.out_dir))


def test_urine_albumin_creatinine_ratio_is_never_read_as_creatinine(synthea_export: Path) -> None:
    acr_ids = {
        f"Observation/{o['id']}"
        for o in resources(synthea_export, "Observation")
        if o["code"]["coding"][0]["code"] == SYNTHEA_ACR.code  # type: ignore[index]
    }
    checked = 0
    bundles = bundles_by_patient(synthea_export)
    by_patient: dict[str, list[str]] = defaultdict(list)
    for pid, raw in bundles.items():
        case, issues = case_from_fhir(orjson.loads(raw), as_of=AS_OF)
        lab_ids = {lab.id for lab in case.labs}
        assert not lab_ids & acr_ids, pid
        by_patient[pid] = [i.location for i in issues if any(a in i.location for a in acr_ids)]
        checked += bool(by_patient[pid])
    assert checked > 0
