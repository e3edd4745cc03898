"""`calcinosis synth`: deterministic, realistic mix, codes the FHIR reader knows, a few damaged lines."""

from __future__ import annotations

import gzip
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest
import simple_icd_10_cm as icd

from calcinosis.errors import InputError
from calcinosis.patient.codes import load_vocabulary
from calcinosis.screen.selection import load_selection
from calcinosis.synth import generate_export
from calcinosis.synth.codebook import (
    ATRIAL_FIBRILLATION,
    BACKGROUND_CONDITIONS,
    BACKGROUND_DRUGS,
    BACKGROUND_PROCEDURES,
    ICD10CM,
    Code,
)
from calcinosis.synth.scenarios import SCENARIOS
from tests.screen.conftest import SMALL_PATIENTS, read_ndjson

BACKGROUND: list[Code] = [
    *(c for pair in BACKGROUND_CONDITIONS for c in pair if c),
    ATRIAL_FIBRILLATION,
    *BACKGROUND_DRUGS,
    *BACKGROUND_PROCEDURES,
]
TYPES = (
    "Patient",
    "Condition",
    "Observation",
    "MedicationRequest",
    "MedicationStatement",
    "MedicationAdministration",
    "Procedure",
)


def _resources(export: Path, rtype: str) -> list[dict[str, object]]:
    out = []
    for line in read_ndjson(export / f"{rtype}.ndjson"):
        try:
            resource = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if resource.get("resourceType") == rtype:
            out.append(resource)
    return out


def test_same_seed_gives_the_same_export_and_another_seed_does_not(tmp_path: Path) -> None:
    generate_export(tmp_path / "a", 60, seed=5)
    generate_export(tmp_path / "b", 60, seed=5)
    generate_export(tmp_path / "c", 60, seed=6)
    for rtype in TYPES:
        name = f"{rtype}.ndjson"
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / "Observation.ndjson").read_bytes() != (
        tmp_path / "c" / "Observation.ndjson"
    ).read_bytes()


def test_smaller_export_is_a_prefix_of_a_larger_one_when_seeded_alike(tmp_path: Path) -> None:
    generate_export(tmp_path / "small", 30, seed=9)
    generate_export(tmp_path / "large", 60, seed=9)
    small = (tmp_path / "small" / "Condition.ndjson").read_bytes()
    assert (tmp_path / "large" / "Condition.ndjson").read_bytes().startswith(small)


def test_mix_is_mostly_unrelated_with_every_scenario_when_generated(small_export: Path) -> None:
    rows = [line.split("\t") for line in (small_export / "scenarios.tsv").read_text().splitlines()[1:]]
    assert len(rows) == SMALL_PATIENTS
    scenarios = Counter(r[1] for r in rows)
    assert scenarios["unrelated"] > SMALL_PATIENTS / 2
    assert set(scenarios) == set(SCENARIOS)
    assert set(Counter(r[2] for r in rows)) == {"us", "si", "text"}


def test_us_and_si_units_are_both_written_when_sites_differ(small_export: Path) -> None:
    units = Counter(
        str(o["valueQuantity"]["unit"])  # type: ignore[index]
        for o in _resources(small_export, "Observation")
        if "valueQuantity" in o and "unit" in o["valueQuantity"]  # type: ignore[operator]
    )
    assert units["mg/dL"] and units["mmol/L"] and units["umol/L"] and units["g/L"]


def test_every_code_written_for_a_scenario_is_known_to_the_fhir_reader(small_export: Path) -> None:
    vocabulary = load_vocabulary()
    background = {(c.system, c.code) for c in BACKGROUND}
    seen = 0
    elements = (
        ("Condition", "code"),
        ("Procedure", "code"),
        ("MedicationRequest", "medicationCodeableConcept"),
        ("MedicationStatement", "medicationCodeableConcept"),
    )
    for rtype, element in elements:
        for resource in _resources(small_export, rtype):
            for coding in resource[element].get("coding", []):  # type: ignore[attr-defined]
                key = (coding["system"], coding["code"])
                if key in background:
                    continue
                assert vocabulary.concepts_for_coding(*key), key
                seen += 1
    for resource in _resources(small_export, "Observation"):
        coding = resource["code"]["coding"][0]  # type: ignore[index]
        if coding["code"] in vocabulary.labs:
            seen += 1
    assert seen > 100


def test_background_icd10cm_codes_are_real_and_not_screened_for() -> None:
    vocabulary = load_vocabulary()
    wanted = set(load_selection().concepts)
    codes = [c for c in BACKGROUND if c.system == ICD10CM]
    assert codes
    for code in codes:
        assert icd.is_valid_item(code.code), code.code
        assert icd.get_description(code.code) == code.display, code.code
        assert not vocabulary.concepts_for_coding(code.system, code.code) & wanted


def test_damaged_lines_are_written_at_about_the_rate_asked(tmp_path: Path) -> None:
    summary = generate_export(tmp_path / "x", 300, seed=2, bad_line_rate=0.02)
    total = sum(summary.resources.values()) + sum(summary.bad_lines.values())
    assert set(summary.bad_lines) == {"not-json", "unknown-resource-type", "missing-subject"}
    assert 0.01 < sum(summary.bad_lines.values()) / total < 0.03


def test_gzip_option_writes_readable_gz_files_with_a_manifest(tmp_path: Path) -> None:
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "calcinosis",
            "synth",
            "--patients",
            "20",
            "--out",
            str(tmp_path / "g"),
            "--gzip",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert "wrote 20 patients" in r.stdout
    lines = gzip.decompress((tmp_path / "g" / "Patient.ndjson.gz").read_bytes()).splitlines()
    assert len(lines) >= 19
    manifest = orjson.loads((tmp_path / "g" / "manifest.json").read_bytes())
    assert {o["type"] for o in manifest["output"]} == set(TYPES)


def test_synth_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(InputError, match="not empty"):
        generate_export(tmp_path, 5)
    r = subprocess.run(
        [sys.executable, "-m", "calcinosis", "synth", "--patients", "5", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 2
    assert r.stderr.startswith("error: ")


def test_coding_option_writes_an_export_coded_like_synthea_when_asked(tmp_path: Path) -> None:
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "calcinosis",
            "synth",
            "-n",
            "40",
            "--coding",
            "synthea",
            "--out",
            str(tmp_path / "s"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    rows = [line.split("\t") for line in (tmp_path / "s" / "scenarios.tsv").read_text().splitlines()[1:]]
    assert {row[2] for row in rows} == {"synthea"}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "calcinosis",
            "synth",
            "-n",
            "5",
            "--coding",
            "hl7",
            "--out",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "--coding" in r.stderr
