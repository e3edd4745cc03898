"""Patient facts: input models and the coded vocabulary rules look for."""

from calcinosis.patient.models import (
    Allergy,
    Case,
    Coding,
    Condition,
    Event,
    InputIssue,
    Lab,
    Lesion,
    Medication,
    Sex,
)

__all__ = [
    "Allergy",
    "Case",
    "Coding",
    "Condition",
    "Event",
    "InputIssue",
    "Lab",
    "Lesion",
    "Medication",
    "Sex",
]
