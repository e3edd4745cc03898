"""What the app asks the EHR for: scopes derived from the FHIR reader, never listed by hand.

The resource types are exactly those :mod:`calcinosis.fhir.facts` reads (its ``READERS``), the Patient, and
the resources it resolves through references (``REFERENCED_ONLY``: Medication). Each gets a SMART v2
``patient/<Type>.rs`` scope (read and search in the patient's compartment).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

from calcinosis.fhir.facts import READERS, REFERENCED_ONLY

LaunchKind = Literal["ehr", "standalone"]
IDENTITY_SCOPES = ("openid", "fhirUser")
REFRESH_SCOPE = "online_access"  # a refresh token usable while the clinician stays online
INCLUDES = {
    "MedicationRequest": "MedicationRequest:medication",
    "MedicationStatement": "MedicationStatement:medication",
}
_SCOPE = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.(read|write|\*|c?r?u?d?s?)$")


@cache
def searched_types() -> tuple[str, ...]:
    """Resource types searched in the patient's compartment: the ones the reader reads."""
    return tuple(READERS)


@cache
def read_types() -> tuple[str, ...]:
    """Every resource type the app reads: the Patient, the searched types, and those only referenced."""
    return ("Patient", *searched_types(), *sorted(REFERENCED_ONLY))


def resource_scopes() -> tuple[str, ...]:
    return tuple(f"patient/{t}.rs" for t in read_types())


def requested_scopes(kind: LaunchKind) -> tuple[str, ...]:
    """``launch`` (EHR launch) or ``launch/patient`` (standalone), identity, refresh, and resource scopes."""
    context = "launch" if kind == "ehr" else "launch/patient"
    return (context, *IDENTITY_SCOPES, REFRESH_SCOPE, *resource_scopes())


@dataclass(frozen=True)
class Granted:
    """The scopes an EHR granted (its token response's ``scope``), asked what they allow."""

    scopes: tuple[str, ...]

    @classmethod
    def parse(cls, text: str | None) -> Granted:
        return cls(tuple(s for s in (text or "").split() if s))

    def allows(self, rtype: str, operation: Literal["r", "s"]) -> bool:
        """Whether a patient- or user-level scope (v2 ``.rs``-style or v1 ``.read``) covers the operation."""
        for scope in self.scopes:
            m = _SCOPE.match(scope)
            if m is None or m.group(1) == "system" or m.group(2) not in ("*", rtype):
                continue
            perms = m.group(3)
            if perms in ("read", "*") or (perms not in ("write",) and operation in perms):
                return True
        return False

    def missing_for(self, rtype: str) -> str | None:
        """The scope the app asked for and did not get for this type, or None when it may search it."""
        if self.allows(rtype, "s" if rtype != "Patient" else "r"):
            return None
        return f"patient/{rtype}.rs"
