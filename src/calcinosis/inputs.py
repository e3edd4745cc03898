"""Decode one patient's input (native case JSON or FHIR R4) into engine facts."""

from __future__ import annotations

from datetime import date
from typing import Any

from calcinosis.errors import InputError
from calcinosis.limits import Limits, decode_strict
from calcinosis.patient.case_json import parse_case
from calcinosis.patient.models import Case, InputIssue


def decode_json(raw: bytes | str, where: str = "input", limits: Limits | None = None) -> Any:
    """Strict JSON within ``limits`` (default: the settings' defaults); see :mod:`calcinosis.limits`."""
    if isinstance(raw, str):
        try:
            raw = raw.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(f"{where}: text holds a lone surrogate") from None
    return decode_strict(raw, limits or Limits(), where)


def is_fhir(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("resourceType"), str)


def read_patient(data: Any, as_of: date | None = None) -> tuple[Case, list[InputIssue]]:
    """Native case or FHIR (a Bundle of any type, or a single resource), detected by ``resourceType``."""
    if is_fhir(data):
        from calcinosis.fhir.facts import case_from_fhir

        return case_from_fhir(data, as_of=as_of)
    return parse_case(data)
