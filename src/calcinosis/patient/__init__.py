"""Patient facts: input models and the coded vocabulary rules look for."""

from calcinosis.patient.models import (
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

__all__ = ["Case", "Coding", "Condition", "Event", "InputIssue", "Lab", "Lesion", "Medication", "Sex"]
