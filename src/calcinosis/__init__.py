"""calcinosis-cds: clinical decision support for calcinosis cutis.

The front door::

    from calcinosis import assess, load_pack, parse_case
    case, issues = parse_case({"age_years": 54, "conditions": [{"text": "limited systemic sclerosis"}]})
    assessment = assess(case, issues=issues)

Decision support only: every conclusion carries the basis a clinician can check.
"""

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
