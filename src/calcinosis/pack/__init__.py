"""The knowledge pack: sourced facts of the chapter and dossier as validated data."""

from calcinosis.pack.knowledge import KnowledgePack, Predicate, Setting, TherapyEvidence
from calcinosis.pack.levels import derive_level, derive_study_level
from calcinosis.pack.loader import default_pack_dir, load_pack, load_pack_cached
from calcinosis.pack.models import EvidenceLevel, Study, SubtypeCode, Therapy

__all__ = [
    "EvidenceLevel",
    "KnowledgePack",
    "Predicate",
    "Setting",
    "Study",
    "SubtypeCode",
    "Therapy",
    "TherapyEvidence",
    "default_pack_dir",
    "derive_level",
    "derive_study_level",
    "load_pack",
    "load_pack_cached",
]
