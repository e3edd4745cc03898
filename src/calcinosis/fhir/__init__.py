"""FHIR R4 in and out: patient records → facts, assessments → guidance, the pack → PlanDefinition.

See docs/fhir.md. Sits outside the engine: imports ``engine``, ``pack`` and ``patient``, never the reverse.
"""

from calcinosis.fhir.courses import courses_to_resources
from calcinosis.fhir.facts import case_from_fhir
from calcinosis.fhir.guidance import assessment_to_bundle
from calcinosis.fhir.outcome import error_to_outcome, issues_to_outcome
from calcinosis.fhir.plandefinition import pack_to_fhir, write_pack_fhir

__all__ = [
    "assessment_to_bundle",
    "case_from_fhir",
    "courses_to_resources",
    "error_to_outcome",
    "issues_to_outcome",
    "pack_to_fhir",
    "write_pack_fhir",
]
