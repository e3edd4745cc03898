"""The patient resource types: the one list the FHIR reader, SMART launches and population screening
take their types from.

Each type carries what it holds (for messages such as "MedicationRequest export missing: medication orders
not read") and whether population screening reads it. The reader reads them all (``READERS`` in
:mod:`calcinosis.fhir.facts` has one reader per type but the Patient); a SMART launch searches for each of
them in the patient's compartment; a screen reads the ``screened`` ones, in this order.

Not in the list: resources read only through a reference (``Medication``, see ``REFERENCED_ONLY``) and
``AdverseEvent``, read only to complete the treatment history (no ``patient`` search parameter in R4).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PatientType:
    name: str
    holds: str  # what the reader takes from it, in words
    screened: bool = True  # read by population screening (calcinosis screen)


PATIENT_TYPES: tuple[PatientType, ...] = (
    PatientType("Patient", "demographics (age, sex)"),
    PatientType("Condition", "conditions"),
    PatientType("Observation", "labs and other observations"),
    PatientType("MedicationRequest", "medication orders"),
    PatientType("MedicationStatement", "medication statements"),
    PatientType("MedicationAdministration", "medication administrations"),
    PatientType("Procedure", "procedures"),
    # The engine shows an allergy on the options whose drug it names. Screening does not read them
    # (docs/screening.md, Limits), so its assessments lack those cautions.
    PatientType("AllergyIntolerance", "allergies and intolerances", screened=False),
)
PATIENT_RESOURCE_TYPES: tuple[str, ...] = tuple(t.name for t in PATIENT_TYPES)
SCREENED_TYPES: tuple[str, ...] = tuple(t.name for t in PATIENT_TYPES if t.screened)
HOLDS: dict[str, str] = {t.name: t.holds for t in PATIENT_TYPES}
