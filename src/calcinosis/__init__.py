"""calcinosis-cds: clinical decision support for calcinosis cutis.

The front door::

    from calcinosis import assess, load_pack, parse_case
    case, issues = parse_case({"age_years": 54, "conditions": [{"text": "limited systemic sclerosis"}]})
    assessment = assess(case, issues=issues)

Decision support only: every conclusion carries the basis a clinician can check.

The names below are imported when first used (PEP 562), so that importing one part of the package (a
command, a worker process) does not import all of it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from calcinosis.engine import assess
    from calcinosis.engine.results import Assessment, Stance, SubtypeCall, TherapyOption, WorkupEntry
    from calcinosis.errors import (
        AuthError,
        CalcinosisError,
        FhirInputError,
        InputError,
        NotFoundError,
        PackError,
        StoreError,
    )
    from calcinosis.inputs import read_patient
    from calcinosis.pack import EvidenceLevel, KnowledgePack, derive_level, load_pack
    from calcinosis.patient import Case, InputIssue
    from calcinosis.patient.case_json import parse_case

__version__ = "0.1.0"

_WHERE = {
    "Assessment": "calcinosis.engine.results",
    "AuthError": "calcinosis.errors",
    "CalcinosisError": "calcinosis.errors",
    "Case": "calcinosis.patient",
    "EvidenceLevel": "calcinosis.pack",
    "FhirInputError": "calcinosis.errors",
    "InputError": "calcinosis.errors",
    "InputIssue": "calcinosis.patient",
    "KnowledgePack": "calcinosis.pack",
    "NotFoundError": "calcinosis.errors",
    "PackError": "calcinosis.errors",
    "Stance": "calcinosis.engine.results",
    "StoreError": "calcinosis.errors",
    "SubtypeCall": "calcinosis.engine.results",
    "TherapyOption": "calcinosis.engine.results",
    "WorkupEntry": "calcinosis.engine.results",
    "assess": "calcinosis.engine",
    "derive_level": "calcinosis.pack",
    "load_pack": "calcinosis.pack",
    "parse_case": "calcinosis.patient.case_json",
    "read_patient": "calcinosis.inputs",
}

__all__ = [
    "Assessment",
    "AuthError",
    "CalcinosisError",
    "Case",
    "EvidenceLevel",
    "FhirInputError",
    "InputError",
    "InputIssue",
    "KnowledgePack",
    "NotFoundError",
    "PackError",
    "Stance",
    "StoreError",
    "SubtypeCall",
    "TherapyOption",
    "WorkupEntry",
    "__version__",
    "assess",
    "derive_level",
    "load_pack",
    "parse_case",
    "read_patient",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'calcinosis' has no attribute {name!r}")
    value = getattr(import_module(where), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
