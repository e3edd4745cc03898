"""Application state and the ``Annotated`` dependencies routes declare (REST, CDS Hooks, pages, SMART)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import anyio
import httpx
from fastapi import Depends, FastAPI, Request

from calcinosis.errors import AuthError
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.registry import Registry, open_registry
from calcinosis.server.cache import ResultCache
from calcinosis.server.engines import Runner, ThreadRunner
from calcinosis.server.security import Caller, TokenVerifier
from calcinosis.settings import Settings
from calcinosis.store import Store

RETRY_AFTER_S = 5  # Retry-After on a 503 while the store is away


@dataclass
class AppState:
    settings: Settings
    pack: KnowledgePack
    store: Store
    http: httpx.AsyncClient
    verifier: TokenVerifier
    demo_cases: dict[str, Path] = field(default_factory=dict)
    card_cache: ResultCache[Any] | None = None  # CDS Hooks answers (see calcinosis.cdshooks.compute)
    threads: ThreadRunner = field(default_factory=ThreadRunner)  # REST and web assessments
    engine: Runner | None = None  # CDS Hooks calls (engine processes, or the threads)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.calcinosis
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def base_url(request: Request, settings: Settings) -> str:
    return settings.public_base_url or str(request.base_url).rstrip("/")


def endpoint_url(request: Request, settings: Settings) -> str:
    """The URL the caller called: what a CDS Hooks JWT's ``aud`` must equal."""
    if settings.public_base_url:
        return settings.public_base_url + request.url.path
    return str(request.url.replace(query=None, fragment=None))


async def require_caller(request: Request, state: StateDep) -> Caller:
    """The authenticated caller. More than one ``Authorization`` header is refused like any other failure
    (bare 401): which one a proxy checked and which one we read must never differ."""
    host = request.client.host if request.client else None
    values = request.headers.getlist("authorization")
    if len(values) > 1:
        raise AuthError("more than one Authorization header")
    return await state.verifier.caller(
        values[0] if values else None, endpoint_url(request, state.settings), host
    )


CallerDep = Annotated[Caller, Depends(require_caller)]


_opening = threading.Lock()


def open_app_registry(app: FastAPI) -> Registry:
    """The app's treatment registry, opened (and migrated) on first use. Raises StoreError."""
    state: AppState = app.state.calcinosis
    with _opening:
        registry: Registry | None = getattr(app.state, "registry", None)
        if registry is None:
            registry = open_registry(state.settings, state.pack)
            app.state.registry = registry
        return registry


async def registry_of(request: Request) -> Registry:
    """The app's registry (opened again if it could not be at start; StoreError -> 503)."""
    registry: Registry | None = getattr(request.app.state, "registry", None)
    if registry is not None:
        return registry
    return await anyio.to_thread.run_sync(open_app_registry, request.app)
