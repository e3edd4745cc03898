"""REST response shapes, separate from the engine's and the pack's own models."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from calcinosis.engine.results import EvidenceOut
from calcinosis.pack.models import Source, Therapy


class Public(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourcePublic(Public):
    id: str
    short: str
    citation: str
    kind: str
    year: int | None = None
    pmid: str | None = None
    doi: str | None = None
    url: str | None = None
    verified: bool

    @classmethod
    def of(cls, s: Source) -> SourcePublic:
        ids = s.identifiers
        return cls(
            id=s.id,
            short=s.short,
            citation=s.citation,
            kind=s.kind.value,
            year=s.year,
            pmid=ids.pmid,
            doi=ids.doi,
            url=ids.url,
            verified=s.verified,
        )


class TherapySummaryPublic(Public):
    id: str
    name: str
    kind: str
    summary: str
    evidence_level: str | None
    evidence_from: Literal["derived", "stated", "none"]
    studies: int
    settings: tuple[str, ...]


class TherapyPublic(Public):
    therapy: Therapy
    evidence: EvidenceOut
    sources: tuple[SourcePublic, ...]


class PackPublic(Public):
    id: str
    title: str
    version: str
    content_hash: str
    last_reviewed: str
    publisher: str
    grading_system: str
    disclaimer: str
    therapies: int
    sources: tuple[SourcePublic, ...]


class HealthPublic(Public):
    status: Literal["ok", "degraded"]
    version: str
    pack_version: str
    pack_hash: str
    store: str
    store_ok: bool
    authentication: Literal["jwt", "loopback-unsigned"]
