"""``GET /health``: liveness with the pack and store it serves with."""

from __future__ import annotations

import anyio
from fastapi import APIRouter

from calcinosis import __version__
from calcinosis.api.deps import StateDep
from calcinosis.api.schemas import HealthPublic
from calcinosis.errors import StoreError

router = APIRouter(tags=["service"])


@router.get("/health", response_model=HealthPublic, summary="Service health")
async def health(state: StateDep) -> HealthPublic:
    try:
        await anyio.to_thread.run_sync(state.store.count_audit)
        ok = True
    except StoreError:
        ok = False
    return HealthPublic(
        status="ok" if ok else "degraded",
        version=__version__,
        pack_version=state.pack.meta.version,
        pack_hash=state.pack.content_hash,
        store=state.store.kind,
        store_ok=ok,
        authentication="loopback-unsigned" if state.verifier.open_to_loopback else "jwt",
    )
