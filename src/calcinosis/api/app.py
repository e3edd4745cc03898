"""The application factory: ``create_app(settings) -> FastAPI``.

One app serves the REST API, CDS Hooks and (when ``calcinosis.web`` is installed) the clinician pages,
which mount their router here and reach the shared state through ``request.app.state.calcinosis``
(:class:`calcinosis.api.deps.AppState`: settings, pack, store, http client, verifier).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi

from calcinosis import __version__
from calcinosis.api import outcome
from calcinosis.api.deps import AppState
from calcinosis.api.middleware import AccessLog, BodyLimit, CatchAll
from calcinosis.api.routes import assess, catalogue, cdshooks, demo, health, registry
from calcinosis.cdshooks.cache import CardCache
from calcinosis.cdshooks.jwks import KeyRing
from calcinosis.cdshooks.models import FeedbackRequest, HookRequest
from calcinosis.cdshooks.pool import ThreadRunner, start_runner
from calcinosis.cdshooks.security import TokenVerifier
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.loader import load_pack_cached
from calcinosis.patient.models import Case
from calcinosis.settings import Settings, load_settings
from calcinosis.store import open_store

log = logging.getLogger("calcinosis.api")

DESCRIPTION = (
    "Clinical decision support for calcinosis cutis: REST API and CDS Hooks 2.0 services. Decision support "
    "only: every answer shows its basis (facts used, missing inputs, grade, sources) for clinician review."
)
FHIR_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "FhirInput",
    "description": "A FHIR R4 Bundle (any type) or one patient-data resource.",
    "required": ["resourceType"],
    "properties": {"resourceType": {"type": "string"}},
}


def _warm(pack: KnowledgePack) -> None:
    """Load the vocabularies and templates the first call would otherwise pay for."""
    from calcinosis.cdshooks.prefetch import prefetch_templates
    from calcinosis.engine import assess

    prefetch_templates()
    assess(Case(), pack)


def _lifespan(settings: Settings) -> Any:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pack = load_pack_cached()
        await anyio.to_thread.run_sync(_warm, pack)
        store = await anyio.to_thread.run_sync(open_store, settings)
        http = httpx.AsyncClient(
            follow_redirects=False, trust_env=False, timeout=settings.fhir_timeout_ms / 1000
        )
        verifier = TokenVerifier(settings, KeyRing(settings.jwks_min_refresh_s, http))
        if verifier.open_to_loopback:
            log.warning(
                "no trusted issuer configured: unsigned calls are accepted from loopback clients only"
            )
        elif not settings.public_base_url:
            log.warning("no public base URL set: JWT audiences are checked against the URL as requested")
        threads = ThreadRunner()
        engine = await start_runner(settings.engine_processes, threads)
        app.state.calcinosis = AppState(
            settings,
            pack,
            store,
            http,
            verifier,
            demo.demo_cases() if settings.demo else {},
            CardCache(settings.card_cache_size),
            threads,
            engine,
        )
        try:
            yield
        finally:
            await engine.close()
            await http.aclose()
            await anyio.to_thread.run_sync(store.close)

    return lifespan


def _web_router() -> Any | None:
    try:
        module = importlib.import_module("calcinosis.web.views")
    except ModuleNotFoundError as exc:
        if exc.name in ("calcinosis.web", "calcinosis.web.views"):
            return None
        raise
    return getattr(module, "router", None)


def _openapi(app: FastAPI) -> Any:
    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        case = Case.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(case.pop("$defs", {}))
        components["Case"] = case
        components["FhirInput"] = FHIR_INPUT_SCHEMA
        for model in (HookRequest, FeedbackRequest):
            body = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(body.pop("$defs", {}))
            components[model.__name__] = body
        app.openapi_schema = schema
        return schema

    return build


def app_from_env() -> FastAPI:
    """Factory for uvicorn worker processes: settings come from the environment ``serve`` prepared."""
    return create_app(load_settings())


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    app = FastAPI(
        title="calcinosis-cds",
        version=__version__,
        description=DESCRIPTION,
        lifespan=_lifespan(settings),
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    outcome.install(app)
    for router in (health.router, catalogue.router, assess.router, cdshooks.router, registry.router):
        app.include_router(router)
    if settings.demo:
        app.include_router(demo.router)
    web = _web_router()
    if web is not None:
        app.include_router(web)
        from calcinosis.smart.routes import router as smart_router
        from calcinosis.smart.runtime import SmartRuntime

        app.state.smart = SmartRuntime.from_settings(settings)  # SMART App Launch (docs/smart.md)
        app.include_router(smart_router)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)  # innermost: sees the body first
    app.add_middleware(CatchAll)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(AccessLog)
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    return app
