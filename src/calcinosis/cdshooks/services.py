"""One CDS service call: data -> engine -> cards, within the time budget, recorded in the audit trail.

The budget (default 1.5 s) covers fetching and assessing. When it runs out the answer is still 200, with
one card saying the basis is incomplete; it is never a timeout.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import orjson
from pydantic import ValidationError

from calcinosis.cdshooks import prefetch
from calcinosis.cdshooks.cache import CardCache, cache_key
from calcinosis.cdshooks.cards import CardSettings, Issued, incomplete_card
from calcinosis.cdshooks.compute import Outcome, compute, digest
from calcinosis.cdshooks.discovery import ServiceSpec
from calcinosis.cdshooks.models import (
    CdsResponse,
    HookRequest,
    OrderContext,
    OrderSelectContext,
    PatientContext,
)
from calcinosis.cdshooks.pool import EngineBusy, Runner, ThreadRunner
from calcinosis.cdshooks.security import Caller
from calcinosis.engine import knowledge_info
from calcinosis.errors import InputError
from calcinosis.limits import Limits
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.settings import Settings
from calcinosis.store import AuditEntry, Store

log = logging.getLogger("calcinosis.cdshooks")

ENGINE_RESERVE_S = 0.25  # of the budget kept for assessing once data has arrived
ANSWER_RESERVE_S = 0.25  # of the budget kept for the cards, the audit write and the response


@dataclass(frozen=True)
class HookDeps:
    settings: Settings
    pack: KnowledgePack
    store: Store
    http: httpx.AsyncClient
    base_url: str
    cache: CardCache | None = None
    runner: Runner | None = None  # default: a thread per call


async def _cards(
    spec: ServiceSpec,
    request: HookRequest,
    data: prefetch.PatientData,
    deps: HookDeps,
    cs: CardSettings,
    timeout: float,
) -> Outcome:
    """Cards for this call: from the cache when an identical call was answered, else computed by the
    engine runner (processes or threads) within ``timeout``: past it, TimeoutError (the work is cancelled
    or left to finish off the request path) or EngineBusy (no engine was free)."""
    today = dt.datetime.now(dt.UTC).date()
    drafts = request.context.get("draftOrders") if spec.orders else None
    try:
        key: bytes | None = cache_key(
            spec.id, today.isoformat(), deps.pack.content_hash, cs, data.resources, drafts
        )
    except (orjson.JSONEncodeError, TypeError):
        key = None  # not serialisable as a key: computed, not cached
    if key is not None and deps.cache is not None and (hit := deps.cache.get(key)) is not None:
        return Outcome(hit[0], hit[1], True, hit[2])
    runner = deps.runner or ThreadRunner()
    pack = deps.pack if runner.in_process else None  # an engine process has its own
    args = (spec.id, drafts, data.resources, cs, today, pack)
    outcome = await runner.run(compute, *args, timeout=timeout)
    if key is not None and deps.cache is not None:
        deps.cache.put(key, outcome.cards, outcome.input_hash, outcome.assessment)
    return outcome


def check_context(spec: ServiceSpec, request: HookRequest) -> PatientContext:
    if request.hook != spec.hook:
        raise InputError(f"hook '{request.hook}' does not match service '{spec.id}' ({spec.hook})")
    contexts: dict[str, type[PatientContext]] = {
        "order-select": OrderSelectContext,
        "order-sign": OrderContext,
    }
    model = contexts.get(spec.hook, PatientContext)
    try:
        return model.model_validate(request.context)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(top)"
        raise InputError(f"context.{loc}: {err['msg']}") from exc


def _check_patient(ctx: PatientContext, data: prefetch.PatientData) -> None:
    for r in data.resources:
        if r.get("resourceType") == "Patient" and r.get("id") not in (None, ctx.patientId):
            raise InputError("the Patient provided is not the patient in context")


async def call(
    spec: ServiceSpec, request: HookRequest, caller: Caller, deps: HookDeps, *, started: float | None = None
) -> tuple[dict[str, Any], str]:
    """The response body and the audit record's request id (recorded before this returns). The budget
    runs from ``started`` (``time.monotonic()`` when the request reached the route), default now."""
    start = time.monotonic() if started is None else started
    settings = deps.settings
    deadline = start + settings.time_budget_ms / 1000
    ctx = check_context(spec, request)
    reserve = min(ENGINE_RESERVE_S, settings.time_budget_ms / 3000)
    answer_by = deadline - min(ANSWER_RESERVE_S, settings.time_budget_ms / 6000)
    data = await prefetch.gather(
        request,
        deps.http,
        deadline=deadline - reserve,
        timeout_s=settings.fhir_timeout_ms / 1000,
        max_pages=settings.fhir_max_pages,
        limits=Limits.of(settings),
    )
    _check_patient(ctx, data)
    launch_url = f"{deps.base_url}/launch" if settings.smart_client_id else None  # SMART link on cards
    cs = CardSettings(
        deps.base_url, settings.patient_page_path, ctx.patientId, tuple(data.unavailable), launch_url
    )
    outcome: Outcome
    if data.timed_out:
        outcome = _incomplete(
            deps, cs, data.timed_out, "patient data was not retrieved within the time budget"
        )
    else:
        try:
            outcome = await _cards(spec, request, data, deps, cs, max(answer_by - time.monotonic(), 0.001))
        except EngineBusy:
            outcome = _incomplete(deps, cs, [], "the engine was busy for the whole time budget")
        except TimeoutError:
            outcome = _incomplete(deps, cs, [], "the assessment did not finish within the time budget")
    body = CdsResponse(cards=outcome.cards.cards).wire()
    entry = AuditEntry(
        request_id=str(uuid.uuid4()),
        channel="cds-hooks",
        service=spec.id,
        caller_iss=caller.iss,
        caller_client=caller.client,
        pack_version=deps.pack.meta.version,
        pack_hash=deps.pack.content_hash,
        input_hash=outcome.input_hash,
        status="complete" if outcome.complete else "degraded",
        output={**body, "assessment": outcome.assessment} if outcome.assessment else body,
        cards=tuple(outcome.cards.records),
    )
    await anyio.to_thread.run_sync(deps.store.write_audit, entry)
    return body, entry.request_id


def _incomplete(deps: HookDeps, cs: CardSettings, what: list[str], why: str) -> Outcome:
    issued = Issued()
    issued.add(incomplete_card(knowledge_info(deps.pack), cs, what, why), "basis-incomplete", None)
    return Outcome(issued, digest({"incomplete": what}), False)
