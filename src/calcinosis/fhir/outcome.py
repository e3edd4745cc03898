"""Input issues and errors as FHIR R4 OperationOutcome resources."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from calcinosis.errors import AuthError, CalcinosisError, FhirInputError, InputError, NotFoundError


class IssueLike(Protocol):
    @property
    def location(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def severity(self) -> str: ...


def issues_to_outcome(issues: Sequence[IssueLike], outcome_id: str | None = None) -> dict[str, Any]:
    """Input issues (``location``, ``message``, ``severity``) as one OperationOutcome."""
    entries = [
        {
            "severity": "information" if i.severity == "information" else "warning",
            "code": "informational" if i.severity == "information" else "not-supported",
            "diagnostics": f"{i.location}: {i.message}",
            "location": [i.location],
        }
        for i in issues
    ]
    if not entries:
        entries = [{"severity": "information", "code": "informational", "diagnostics": "no issues"}]
    out: dict[str, Any] = {"resourceType": "OperationOutcome", "issue": entries}
    if outcome_id:
        out["id"] = outcome_id
    return out


def error_code(exc: CalcinosisError) -> str:
    if isinstance(exc, FhirInputError):
        return "structure"
    if isinstance(exc, InputError):
        return "invalid"
    if isinstance(exc, NotFoundError):
        return "not-found"
    if isinstance(exc, AuthError):
        return "security"
    return "exception"


def error_to_outcome(exc: CalcinosisError) -> dict[str, Any]:
    """A CalcinosisError as an OperationOutcome with one error issue (for HTTP and CDS Hooks edges)."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": error_code(exc), "diagnostics": str(exc)}],
    }
