"""``GET /health``: 200 ``ok``, or 503 ``degraded`` when the store does not answer (same body)."""

from __future__ import annotations

import anyio
from fastapi import APIRouter
from starlette.responses import Response

from calcinosis import __version__
from calcinosis.api.deps import StateDep
from calcinosis.api.schemas import HealthPublic
from calcinosis.errors import StoreError

router = APIRouter(tags=["service"])


@router.get(
    "/health",
    response_model=HealthPublic,
    summary="Service health",
    responses={503: {"model": HealthPublic, "description": "Degraded: the store does not answer"}},
)
async def health(state: StateDep) -> Response:
    try:
        await anyio.to_thread.run_sync(state.store.ping)
        ok = True
    except StoreError:
        ok = False
    body = HealthPublic(
        status="ok" if ok else "degraded",
        version=__version__,
        pack_version=state.pack.meta.version,
        pack_hash=state.pack.content_hash,
        store=state.store.kind,
        store_ok=ok,
        authentication="loopback-unsigned" if state.verifier.open_to_loopback else "jwt",
    )
    return Response(body.model_dump_json(), status_code=200 if ok else 503, media_type="application/json")
