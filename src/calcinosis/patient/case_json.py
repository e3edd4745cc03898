"""Native case JSON -> :class:`Case`, with unknown keys reported rather than fatal."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from calcinosis.errors import InputError
from calcinosis.patient.models import Case, InputIssue


def parse_case(data: Any) -> tuple[Case, list[InputIssue]]:
    """Validate a decoded case JSON object. Raises InputError naming the first bad field."""
    if not isinstance(data, dict):
        raise InputError("case: expected a JSON object")
    if data.get("resourceType"):
        raise InputError("case: this is FHIR (resourceType present); use the FHIR reader")
    try:
        case = Case.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(top)"
        raise InputError(f"case: {loc}: {err['msg']}") from exc
    issues: list[InputIssue] = []
    _collect_extras(case, "", issues)
    return case, issues


def _collect_extras(obj: Any, where: str, issues: list[InputIssue]) -> None:
    if isinstance(obj, BaseModel):
        for key in sorted(obj.model_extra or {}):
            loc = f"{where}.{key}" if where else key
            issues.append(InputIssue(location=loc, message="unknown field ignored"))
        for name in type(obj).model_fields:
            _collect_extras(getattr(obj, name), f"{where}.{name}" if where else name, issues)
    elif isinstance(obj, tuple):
        for i, item in enumerate(obj):
            _collect_extras(item, f"{where}[{i}]", issues)
