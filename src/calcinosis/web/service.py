"""One assessment for a page: the same input path and engine as ``POST /assess``, recorded in the audit."""

from __future__ import annotations

import uuid

import anyio

from calcinosis.api.deps import AppState
from calcinosis.api.routes.assess import run
from calcinosis.engine.results import Assessment
from calcinosis.limits import Limits
from calcinosis.store import AuditEntry

WEB_CLIENT = "web-pages"


async def assess_raw(raw: bytes, state: AppState, service: str = "web-assess") -> Assessment:
    """Native case JSON or FHIR (bytes) -> Assessment. Raises InputError for input that cannot be used."""
    limits = Limits.of(state.settings)
    assessment, input_hash = await state.threads.run(run, raw, None, state.pack, limits)
    entry = AuditEntry(
        request_id=str(uuid.uuid4()),
        channel="rest",
        service=service,
        caller_client=WEB_CLIENT,
        pack_version=state.pack.meta.version,
        pack_hash=state.pack.content_hash,
        input_hash=input_hash,
        output=assessment.model_dump(mode="json"),
    )
    await anyio.to_thread.run_sync(state.store.write_audit, entry)
    return assessment
