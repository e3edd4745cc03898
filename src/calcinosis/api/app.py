"""The application factory: ``create_app(settings) -> FastAPI``.

One app serves the REST API, CDS Hooks, the clinician pages (:mod:`calcinosis.web`) and SMART launches
(:mod:`calcinosis.smart`), whose routers are mounted here; every route reaches the shared state through
``request.app.state.calcinosis`` (:class:`calcinosis.server.state.AppState`: settings, pack, store, http
client, verifier, engines, cache). Dependencies point one way: this module imports the pages, the pages
never import the API.
"""

from __future__ import annotations

import gc
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
from calcinosis.api.middleware import AccessLog, BodyLimit, CatchAll
from calcinosis.api.routes import assess, catalogue, cdshooks, demo, health, registry
from calcinosis.cdshooks.compute import fresh
from calcinosis.cdshooks.models import FeedbackRequest, HookRequest
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.loader import load_pack_cached
from calcinosis.patient.models import Case
from calcinosis.server.cache import ResultCache
from calcinosis.server.engines import ThreadRunner, start_runner
from calcinosis.server.jwks import KeyRing
from calcinosis.server.security import TokenVerifier
from calcinosis.server.state import AppState
from calcinosis.settings import Settings, load_settings
from calcinosis.smart.routes import router as smart_router
from calcinosis.smart.runtime import SmartRuntime
from calcinosis.store import open_store
from calcinosis.web.views import router as web_router

log = logging.getLogger("calcinosis.api")

DESCRIPTION = (
    "Clinical decision support for calcinosis cutis: REST API and CDS Hooks 2.0 services. Decision support "
    "only: every answer shows its basis (facts used, missing inputs, grade, sources) for clinician review."
)
# What engine processes import at start: the CDS Hooks computation they run.
ENGINE_PRELOAD = ("calcinosis.cdshooks.compute",)
FHIR_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "FhirInput",
    "description": "A FHIR R4 Bundle (any type) or one patient-data resource.",
    "required": ["resourceType"],
    "properties": {"resourceType": {"type": "string"}},
}


def _warm(pack: KnowledgePack) -> None:
    """Load the vocabularies and templates the first call would otherwise pay for."""
    from calcinosis.casework import assess_data
    from calcinosis.cdshooks.prefetch import prefetch_templates

    prefetch_templates()
    assess_data({}, pack)
    gc.freeze()  # the pack, vocabularies and modules live as long as the server: out of every collection


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
        engine = await start_runner(settings.engine_processes, threads, ENGINE_PRELOAD)
        app.state.calcinosis = AppState(
            settings,
            pack,
            store,
            http,
            verifier,
            demo.demo_cases() if settings.demo else {},
            ResultCache(settings.card_cache_size, fresh),
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
    app.include_router(web_router)
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
