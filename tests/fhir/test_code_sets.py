"""The code sets are data with sources, and every code is checked against something independent of us."""

from __future__ import annotations

import re

import pytest
import simple_icd_10_cm as icd
import yaml

from calcinosis.patient.codes import load_vocabulary
from calcinosis.patient.terms import load_lab_vocabulary, load_lesion_vocabulary
from tests.conftest import ROOT

DATA = ROOT / "src" / "calcinosis" / "patient" / "data"
SETS = yaml.safe_load((DATA / "code-sets.yaml").read_text())
CONCEPTS = {c["id"] for c in yaml.safe_load((DATA / "concepts.yaml").read_text())["concepts"]}

_VERHOEFF_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_VERHOEFF_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]


def verhoeff_ok(number: str) -> bool:
    c = 0
    for i, ch in enumerate(reversed(number)):
        c = _VERHOEFF_D[c][_VERHOEFF_P[i % 8][int(ch)]]
    return c == 0


def loinc_ok(code: str) -> bool:
    """LOINC's mod-10 check digit (the Luhn scheme over the part before the hyphen)."""
    body, _, check = code.partition("-")
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d // 10 + d % 10
    return (10 - total % 10) % 10 == int(check)


def entries(system: str) -> list[dict[str, object]]:
    return list(SETS["codes"][system])


def test_every_code_system_names_its_source_when_loaded() -> None:
    for system in SETS["systems"]:
        assert system["source"].strip() and system["uri"].startswith(("http://", "urn:")), system["id"]
    assert {s["id"] for s in SETS["systems"]} == {"icd-10-cm", "icd-10", "snomed-ct", "loinc", "rxnorm"}


@pytest.mark.parametrize("entry", entries("icd-10-cm"), ids=lambda e: str(e["code"]))
def test_icd10cm_code_exists_with_its_title_when_checked_against_the_cdc_release(
    entry: dict[str, str],
) -> None:
    code = str(entry["code"])
    assert icd.is_valid_item(code), code
    assert icd.get_description(code).lower() == str(entry["display"]).lower()
    if entry.get("descendants"):
        assert icd.get_descendants(code), f"{code} has no codes below it"


@pytest.mark.parametrize("entry", entries("icd-10"), ids=lambda e: str(e["code"]))
def test_who_icd10_code_is_shared_with_icd10cm_when_listed(entry: dict[str, str]) -> None:
    assert icd.is_valid_item(str(entry["code"])), entry["code"]


def test_snomed_codes_pass_the_verhoeff_check_and_name_where_they_were_checked() -> None:
    for e in entries("snomed-ct"):
        code = str(e["code"])
        assert code.isdigit() and verhoeff_ok(code), code
        assert code[-3:-1] == "00", f"{code}: not a concept id in the international core"
        assert e.get("checked"), code


def test_loinc_codes_pass_the_mod10_check_digit_and_name_where_they_were_checked() -> None:
    codes = [str(lab["code"]) for lab in SETS["labs"]] + [str(SETS["pregnancy_status"]["code"]["code"])]
    for code in codes:
        assert re.fullmatch(r"\d{1,7}-\d", code) and loinc_ok(code), code
    assert all(lab.get("checked") for lab in SETS["labs"])


def test_rxnorm_entries_are_numeric_ingredient_ids_with_a_record_of_the_check() -> None:
    for e in entries("rxnorm"):
        assert str(e["code"]).isdigit() and e.get("checked"), e


def test_every_code_maps_to_a_vocabulary_concept_or_engine_analyte() -> None:
    for system, items in SETS["codes"].items():
        for e in items:
            assert e["concept"] in CONCEPTS, (system, e["code"], e["concept"])
    analytes = set(load_lab_vocabulary().terms)
    for lab in SETS["labs"]:
        assert lab["analyte"] in analytes, lab
    assert set(SETS["panels"]) <= analytes


def test_lesion_finding_codes_exist_in_icd10cm() -> None:
    for e in SETS["lesion_findings"]["icd-10-cm"]:
        assert icd.get_description(e["code"]).lower() == e["display"].lower()


def test_loinc_codes_agree_with_the_engine_lab_table_when_both_list_them() -> None:
    by_loinc = load_lab_vocabulary().by_loinc
    for lab in SETS["labs"]:
        if lab["code"] in by_loinc:
            assert by_loinc[lab["code"]] == lab["analyte"], lab


def test_vocabulary_loads_once_and_exposes_every_system_uri() -> None:
    v = load_vocabulary()
    assert v is load_vocabulary()
    for s in SETS["systems"]:
        assert v.system_id(s["uri"]) == s["id"]


def test_infusion_complication_codes_are_only_those_whose_title_is_about_infusion_or_extravasation() -> None:
    mapped = [e for e in entries("icd-10-cm") if str(e["concept"]).startswith("infusion-")]
    assert {str(e["code"]) for e in mapped} >= {"T80.81", "T80.1", "T80.89", "T80.90"}
    for e in mapped:
        title = icd.get_description(str(e["code"])).lower()
        assert "infusion" in title or "extravasation" in title, e["code"]


def test_synthea_codes_name_the_synthea_module_they_were_read_from() -> None:
    synthea = {"431855005", "431856006", "433144002", "431857002", "46177005", "265764009"}
    for e in entries("snomed-ct"):
        if e["code"] in synthea:
            assert "synthetichealth/synthea src/main/resources/modules/" in str(e["checked"]), e["code"]
    for lab in SETS["labs"]:
        if lab["code"] in {"38483-4", "49765-1", "6299-2"}:
            assert "synthetichealth/synthea" in lab["checked"], lab["code"]


def test_exposure_tables_name_vocabulary_concepts_of_the_right_kind() -> None:
    kinds = {c["id"]: c["kind"] for c in yaml.safe_load((DATA / "concepts.yaml").read_text())["concepts"]}
    exposures = SETS["exposures"]
    for medication, event in exposures["iv_medications"].items():
        assert (kinds[medication], kinds[event]) == ("medication", "event"), medication
    for event in exposures["note_events"]:
        assert kinds[event] == "event", event


def test_route_and_body_site_codes_pass_the_verhoeff_check_and_name_where_they_were_checked() -> None:
    sites = load_lesion_vocabulary()
    coded = [*SETS["exposures"]["iv_route"]["codes"], *SETS["body_sites"]]
    assert coded
    for e in coded:
        code = str(e["code"])
        assert e["system"] == "snomed-ct" and verhoeff_ok(code) and code[-3:-1] == "00", code
        assert e.get("checked"), code
    for e in SETS["body_sites"]:
        assert sites.sites_in(e["site"]), e["site"]


# ------------------------------------------------------- treatment courses and visit measurements (fhir/data)

FHIR_DATA = ROOT / "src" / "calcinosis" / "fhir" / "data"
MEASURES = yaml.safe_load((FHIR_DATA / "measures.yaml").read_text())
COURSE_TERMS = yaml.safe_load((FHIR_DATA / "courses.yaml").read_text())


def test_measure_loinc_codes_pass_the_mod10_check_digit_and_name_where_they_were_checked() -> None:
    listed = [c for m in MEASURES["measures"] for c in m.get("loinc", [])]
    assert {c["code"] for c in listed} == {"38214-3", "72514-3"}
    for c in listed:
        assert re.fullmatch(r"\d{1,7}-\d", c["code"]) and loinc_ok(c["code"]), c["code"]
        assert c["display"].strip() and len(str(c["checked"])) > 20, c["code"]
    assert not loinc_ok("38214-4") and not loinc_ok("72514-2")  # the check digit check can fail


def test_measure_loinc_codes_are_not_lab_codes_of_the_code_sets() -> None:
    labs = {str(lab["code"]) for lab in SETS["labs"]}
    assert not labs & {c["code"] for m in MEASURES["measures"] for c in m.get("loinc", [])}


def test_yes_no_answer_codes_are_checked() -> None:
    for answer in ("yes", "no"):
        for c in MEASURES["answers"][answer]["codes"]:
            assert c.get("checked"), c
            if c["system"] == "http://snomed.info/sct":
                assert verhoeff_ok(c["code"]) and c["code"][-3:-1] == "00", c["code"]
            else:
                assert c["system"] == "http://terminology.hl7.org/CodeSystem/v2-0136" and c["code"] in (
                    "Y",
                    "N",
                )


def test_measure_codes_fields_and_names_are_unambiguous() -> None:
    from calcinosis.fhir.treatment import load_measures, normalise_name
    from calcinosis.patient.models import Measurement

    measures = load_measures().measures
    assert len({m.code for m in measures}) == len(measures)
    assert {m.field for m in measures} == set(Measurement.model_fields) - {"id", "date", "site"}
    names = [normalise_name(w) for m in measures for w in m.words]
    assert len(names) == len(set(names))
    yes = {normalise_name(w) for w in MEASURES["answers"]["yes"]["words"]}
    assert not yes & {normalise_name(w) for w in MEASURES["answers"]["no"]["words"]}


@pytest.mark.parametrize("table", ["routes", "stop_reasons"])
def test_route_and_stop_reason_words_name_one_thing_each(table: str) -> None:
    words = [w.lower() for ws in COURSE_TERMS[table].values() for w in ws]
    assert len(words) == len(set(words)), table
