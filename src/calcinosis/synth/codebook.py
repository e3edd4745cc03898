"""The codes synthetic records carry.

Screening-relevant concepts and labs take their codes from the project's own code sets
(``patient/data/code-sets.yaml`` via :mod:`calcinosis.patient.codes`), so the FHIR reader recognises
exactly what the generator writes and a code added there is used here too. Unit factors come from the
engine's lab vocabulary (``labs.yaml``). Only the background of unrelated problems, labs and drugs that
make up most of a real export is listed here; tests/screen/test_synth.py checks each ICD-10-CM code and
title against the CDC release (simple-icd-10-cm) and that none of them is screened for.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from calcinosis.patient.codes import Vocabulary, load_vocabulary
from calcinosis.patient.terms import LabVocabulary, load_lab_vocabulary

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"


@dataclass(frozen=True)
class Code:
    system: str
    code: str
    display: str

    def coding(self) -> dict[str, str]:
        return {"system": self.system, "code": self.code, "display": self.display}


@dataclass(frozen=True)
class BackgroundLab:
    code: Code
    unit: str
    low: float
    high: float
    decimals: int = 0


# Common problems of a general population (ICD-10-CM code and CDC title; SNOMED CT where given).
BACKGROUND_CONDITIONS: tuple[tuple[Code, Code | None], ...] = (
    (
        Code(ICD10CM, "I10", "Essential (primary) hypertension"),
        Code(SNOMED, "38341003", "Hypertensive disorder"),
    ),
    (
        Code(ICD10CM, "E11.9", "Type 2 diabetes mellitus without complications"),
        Code(SNOMED, "44054006", "Diabetes mellitus type 2"),
    ),
    (Code(ICD10CM, "E78.5", "Hyperlipidemia, unspecified"), None),
    (Code(ICD10CM, "J45.909", "Unspecified asthma, uncomplicated"), Code(SNOMED, "195967001", "Asthma")),
    (Code(ICD10CM, "M17.11", "Unilateral primary osteoarthritis, right knee"), None),
    (Code(ICD10CM, "K21.9", "Gastro-esophageal reflux disease without esophagitis"), None),
    (Code(ICD10CM, "F32.9", "Major depressive disorder, single episode, unspecified"), None),
    (Code(ICD10CM, "E66.9", "Obesity, unspecified"), None),
    (Code(ICD10CM, "G47.33", "Obstructive sleep apnea (adult) (pediatric)"), None),
)
ATRIAL_FIBRILLATION = Code(ICD10CM, "I48.91", "Unspecified atrial fibrillation")
# SNOMED CT 49436004 "Atrial fibrillation (disorder)": seen in several public FHIR examples and code tables.
ATRIAL_FIBRILLATION_SNOMED = Code(SNOMED, "49436004", "Atrial fibrillation (disorder)")

BACKGROUND_LABS: tuple[BackgroundLab, ...] = (
    BackgroundLab(Code(LOINC, "2345-7", "Glucose [Mass/volume] in Serum or Plasma"), "mg/dL", 70, 160),
    BackgroundLab(Code(LOINC, "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"), "%", 4.8, 8.5, 1),
    BackgroundLab(Code(LOINC, "2093-3", "Cholesterol [Mass/volume] in Serum or Plasma"), "mg/dL", 130, 260),
    BackgroundLab(Code(LOINC, "718-7", "Hemoglobin [Mass/volume] in Blood"), "g/dL", 10.5, 16.5, 1),
    BackgroundLab(Code(LOINC, "2951-2", "Sodium [Moles/volume] in Serum or Plasma"), "mmol/L", 134, 146),
    BackgroundLab(
        Code(LOINC, "2823-3", "Potassium [Moles/volume] in Serum or Plasma"), "mmol/L", 3.4, 5.2, 1
    ),
    BackgroundLab(Code(LOINC, "8480-6", "Systolic blood pressure"), "mm[Hg]", 105, 165),
    BackgroundLab(Code(LOINC, "8462-4", "Diastolic blood pressure"), "mm[Hg]", 60, 100),
    BackgroundLab(Code(LOINC, "29463-7", "Body weight"), "kg", 48, 120, 1),
)

BACKGROUND_DRUGS: tuple[Code, ...] = (
    Code(RXNORM, "29046", "lisinopril"),
    Code(RXNORM, "6809", "metformin"),
    Code(RXNORM, "83367", "atorvastatin"),
    Code(RXNORM, "17767", "amlodipine"),
    Code(RXNORM, "7646", "omeprazole"),
    Code(RXNORM, "10582", "levothyroxine"),
    Code(RXNORM, "435", "albuterol"),
)

# Codes of a Synthea export (synthetichealth/synthea, src/main/resources/modules/...) that the coding style
# "synthea" writes where the project's code sets offer several: kidney disease and dialysis, and the blood
# chemistry of the dialysis module. The codes are in code-sets.yaml (checked there); these pick among them.
SYNTHEA_CKD_STAGES: tuple[str, ...] = (
    "431855005",
    "431856006",
    "433144002",
    "431857002",
)  # kidney_conditions.json
SYNTHEA_ESRD = "46177005"  # kidney_conditions.json, chronic_kidney_disease.json
SYNTHEA_DIALYSIS = "265764009"  # dialysis.json: Renal dialysis (procedure)
# chronic_kidney_disease.json: the renal dysplasia path reaches ESRD and dialysis without an ESRD Condition.
SYNTHEA_RENAL_DYSPLASIA = Code(SNOMED, "204949001", "Renal dysplasia (disorder)")
SYNTHEA_LABS: dict[str, tuple[str, ...]] = {
    "creatinine": ("2160-0", "38483-4"),  # kidney_conditions.json; dialysis.json (Record_CMP)
    "calcium": ("17861-6", "49765-1"),
    "urea": ("3094-0", "6299-2"),
}
# Urine albumin/creatinine ratio, mg/g: LOINC 14959-1, named "Microalbumin Creatinine Ratio" in tables derived
# from Synthea exports. Not an analyte the assessment reads; its name contains "Creatinine".
SYNTHEA_ACR = Code(LOINC, "14959-1", "Microalbumin Creatinine Ratio")
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

BACKGROUND_PROCEDURES: tuple[Code, ...] = (
    Code(SNOMED, "73761001", "Colonoscopy"),
    Code(SNOMED, "80146002", "Appendectomy"),
)

# SI units of the analytes that US laboratories report otherwise (UCUM spelling; factors come from labs.yaml).
SI_UNITS: dict[str, str] = {
    "calcium": "mmol/L",
    "phosphate": "mmol/L",
    "creatinine": "umol/L",
    "albumin": "g/L",
    "pth": "pmol/L",
    "vitamin-d-25": "nmol/L",
    "urea": "mmol/L",
}

_SYSTEM_URI = {"icd-10-cm": ICD10CM, "icd-10": ICD10, "snomed-ct": SNOMED, "rxnorm": RXNORM, "loinc": LOINC}


class CodeBook:
    """Look-ups into the project's code sets for the generator (built once per run)."""

    def __init__(self, vocabulary: Vocabulary | None = None, labs: LabVocabulary | None = None) -> None:
        self.vocabulary = vocabulary or load_vocabulary()
        self.labs = labs or load_lab_vocabulary()

    @cached_property
    def _by_concept(self) -> dict[tuple[str, str], tuple[Code, ...]]:
        out: dict[tuple[str, str], list[Code]] = {}
        for set_id, entries in self.vocabulary.code_sets.codes.items():
            uri = _SYSTEM_URI.get(set_id)
            if uri is None:
                continue
            for e in entries:
                if e.also_names:  # a combination code or finding does not stand for the concept alone
                    continue
                out.setdefault((e.concept, set_id), []).append(Code(uri, e.code, e.display))
        return {k: tuple(v) for k, v in out.items()}

    def codes_for(self, concept: str, set_ids: tuple[str, ...]) -> tuple[Code, ...]:
        """Codes of the first code set (in the given order) that has any for the concept."""
        for set_id in set_ids:
            found = self._by_concept.get((concept, set_id))
            if found:
                return found
        return ()

    @cached_property
    def _lab_codes(self) -> dict[str, tuple[Code, ...]]:
        out: dict[str, list[Code]] = {}
        for lab in self.vocabulary.code_sets.labs:
            out.setdefault(lab.analyte, []).append(Code(LOINC, lab.code, lab.display))
        return {k: tuple(v) for k, v in out.items()}

    def lab_code(self, analyte: str, si: bool) -> Code:
        """The LOINC code for an analyte: the molar one for SI sites where the code sets have one."""
        codes = self._lab_codes[analyte]
        if si:
            molar = [c for c in codes if "[Moles/" in c.display]
            if molar:
                return molar[0]
        mass = [c for c in codes if "[Moles/" not in c.display]
        return (mass or list(codes))[0]

    def snomed(self, code: str) -> Code:
        """A SNOMED CT code of the code sets, with its display there."""
        for e in self.vocabulary.code_sets.codes["snomed-ct"]:
            if e.code == code:
                return Code(SNOMED, e.code, e.display)
        raise KeyError(code)

    def loinc(self, code: str) -> Code:
        lab = self.vocabulary.labs[code]
        return Code(LOINC, lab.code, lab.display)

    def lab_unit(self, analyte: str, si: bool) -> str:
        """The unit a US (the engine's canonical unit) or SI site reports the analyte in."""
        term = self.labs.terms[analyte]
        si_unit = SI_UNITS.get(analyte)
        if si and si_unit in term.units:
            return si_unit
        return term.unit

    def factor(self, analyte: str, unit: str) -> float:
        """Multiply a value in ``unit`` by this to get the engine's canonical unit."""
        term = self.labs.terms[analyte]
        if unit in term.units:
            return term.units[unit]
        return {k.lower(): v for k, v in term.units.items()}.get(unit.lower(), 1.0)
