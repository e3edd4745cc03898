"""Application state and the ``Annotated`` dependencies routes declare."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import httpx
from fastapi import Depends, Request

from calcinosis.cdshooks.cache import CardCache
from calcinosis.cdshooks.pool import Runner, ThreadRunner
from calcinosis.cdshooks.security import Caller, TokenVerifier
from calcinosis.errors import AuthError
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.settings import Settings
from calcinosis.store import Store


@dataclass
class AppState:
    settings: Settings
    pack: KnowledgePack
    store: Store
    http: httpx.AsyncClient
    verifier: TokenVerifier
    demo_cases: dict[str, Path] = field(default_factory=dict)
    card_cache: CardCache | None = None
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
