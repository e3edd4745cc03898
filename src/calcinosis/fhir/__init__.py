"""FHIR R4 in and out: patient records → facts, assessments → guidance, the pack → PlanDefinition."""

from calcinosis.fhir.facts import case_from_fhir

__all__ = ["case_from_fhir"]
