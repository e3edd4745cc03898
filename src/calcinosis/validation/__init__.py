"""Published-case validation: a corpus of patients written from case reports, each with the expectation the
sources give, and the agreement of the engine with it per case and per field (docs/validation.md).

An outer layer: it calls only the public engine (``calcinosis.assess``) and reads only the Assessment contract.
"""

from calcinosis.validation.agreement import judge, summarise, validate_corpus
from calcinosis.validation.loader import Corpus, CorpusError, LoadedCase, load_corpus
from calcinosis.validation.models import (
    FIELDS,
    CaseResult,
    CorpusCase,
    Expectation,
    FieldResult,
    FieldSummary,
    Note,
    ValidationReport,
)

__all__ = [
    "FIELDS",
    "CaseResult",
    "Corpus",
    "CorpusCase",
    "CorpusError",
    "Expectation",
    "FieldResult",
    "FieldSummary",
    "LoadedCase",
    "Note",
    "ValidationReport",
    "judge",
    "load_corpus",
    "summarise",
    "validate_corpus",
]
