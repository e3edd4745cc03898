"""Prefetch templates and getting the data a service needs: from prefetch, else from ``fhirServer``.

Templates are derived, not typed: the lab query asks only for the LOINC codes the FHIR reader knows (the
minimum necessary). A key missing from prefetch (or sent as an OperationOutcome) is fetched
from the FHIR server, all keys in parallel, each bounded by a timeout and the whole by a deadline.
Data that can be neither prefetched nor fetched raises :class:`PreconditionFailed` (HTTP 412).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import quote, urlsplit

import anyio
import httpx

from calcinosis.cdshooks.models import HookRequest
from calcinosis.errors import CalcinosisError, InputError
from calcinosis.limits import LimitExceeded, Limits, decode_strict
from calcinosis.server.security import is_loopback


class PreconditionFailed(CalcinosisError):
    """Required data neither prefetched nor fetchable (CDS Hooks: 412 Precondition Failed)."""

    code = "not-found"
    http_status = 412


@cache
def prefetch_templates() -> dict[str, str]:
    """Derived from the FHIR reader's code sets: the lab query asks for exactly the LOINC codes it reads."""
    from calcinosis.patient.codes import load_vocabulary

    vocab = load_vocabulary()
    codes = sorted({*vocab.labs, vocab.code_sets.pregnancy_status.code.code})
    loinc = ",".join(f"http://loinc.org|{c}" for c in codes)
    return {
        "patient": "Patient/{{context.patientId}}",
        "conditions": "Condition?patient={{context.patientId}}",
        "labs": f"Observation?patient={{{{context.patientId}}}}&code={loinc}",
        "medications": "MedicationRequest?patient={{context.patientId}}",
        "findings": "Observation?patient={{context.patientId}}&category=exam",
        "procedures": "Procedure?patient={{context.patientId}}",
        "administrations": "MedicationAdministration?patient={{context.patientId}}",
        "allergies": "AllergyIntolerance?patient={{context.patientId}}",
    }


OPTIONAL_KEYS = frozenset({"findings", "procedures", "administrations", "allergies"})


@dataclass
class PatientData:
    """Resources gathered for one call, and what could not be gathered in time."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    from_prefetch: list[str] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    timed_out: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)


def fill(template: str, context: dict[str, Any]) -> str:
    patient = context.get("patientId")
    return template.replace("{{context.patientId}}", quote(str(patient), safe=""))


def _entries(value: dict[str, Any]) -> list[dict[str, Any]]:
    if value.get("resourceType") == "Bundle":
        entries = value.get("entry")
        return [
            e["resource"]
            for e in (entries if isinstance(entries, list) else [])
            if isinstance(e, dict) and isinstance(e.get("resource"), dict)
        ]
    return [value]


def _usable(value: Any) -> bool:
    """A prefetch value we can use: a resource or Bundle (not an OperationOutcome error), or null."""
    if value is None:
        return True
    return isinstance(value, dict) and value.get("resourceType") not in (None, "OperationOutcome")


def _fetchable_server(request: HookRequest) -> str | None:
    server = request.fhirServer
    if server is None:
        return None
    parts = urlsplit(server)
    if parts.scheme != "https" and not is_loopback(parts.hostname):
        return None  # production data only over https; plain http is allowed to loopback for testing
    return server.rstrip("/")


async def gather(
    request: HookRequest,
    http: httpx.AsyncClient,
    *,
    deadline: float,
    timeout_s: float,
    max_pages: int,
    limits: Limits | None = None,
) -> PatientData:
    """The resources for this call. What the FHIR server sends is held to the same limits as a request
    (bytes per answer, depth, text, and resources in all, prefetch included): over one, LimitExceeded."""
    limits = limits or Limits()
    templates = prefetch_templates()
    prefetch = request.prefetch or {}
    data = PatientData()
    missing: list[str] = []
    for key in templates:
        if key in prefetch and _usable(prefetch[key]):
            value = prefetch[key]
            if value is not None:
                data.resources.extend(_entries(value))
            data.from_prefetch.append(key)
        else:
            missing.append(key)
    if not missing:
        return data
    server = _fetchable_server(request)
    if server is None:
        required = [k for k in missing if k not in OPTIONAL_KEYS]
        if required:
            raise PreconditionFailed(
                "data not prefetched and no usable fhirServer to fetch it from: " + ", ".join(required)
            )
        data.unavailable.extend(missing)
        return data
    headers = {"Accept": "application/fhir+json"}
    if request.fhirAuthorization is not None:
        headers["Authorization"] = f"Bearer {request.fhirAuthorization.access_token}"
    tasks = {
        key: asyncio.create_task(
            _fetch(http, server, fill(templates[key], request.context), headers, timeout_s, max_pages, limits)
        )
        for key in missing
    }
    done, pending = await asyncio.wait(tasks.values(), timeout=max(deadline - time.monotonic(), 0.001))
    for task in pending:
        task.cancel()
    failed: list[str] = []
    for key, task in tasks.items():
        if task not in done:
            data.timed_out.append(key)
            continue
        exc = task.exception()
        if isinstance(exc, LimitExceeded):
            raise exc
        if isinstance(exc, httpx.TimeoutException):
            data.timed_out.append(key)
        elif exc is not None:
            (data.unavailable if key in OPTIONAL_KEYS else failed).append(key)
        else:
            data.resources.extend(task.result())
            data.fetched.append(key)
    if failed:
        raise PreconditionFailed(
            "data not prefetched and the FHIR server did not provide it: " + ", ".join(failed)
        )
    if len(data.resources) > limits.resources:
        raise limits.too_many_resources("patient data (prefetched and fetched)")
    return data


async def _fetch(
    http: httpx.AsyncClient,
    server: str,
    query: str,
    headers: dict[str, str],
    timeout_s: float,
    max_pages: int,
    limits: Limits,
) -> list[dict[str, Any]]:
    url: str | None = f"{server}/{query}"
    out: list[dict[str, Any]] = []
    pages = 0
    while url is not None and pages < max_pages:
        raw = await _get(http, url, headers, timeout_s, limits, is_patient=query.startswith("Patient/"))
        if len(raw) > IN_THREAD_BYTES:
            body = await anyio.to_thread.run_sync(_decode, raw, limits)
        else:
            body = _decode(raw, limits)
        if not isinstance(body, dict):
            raise InputError("FHIR server answered with something other than a resource")
        out.extend(_entries(body))
        if len(out) > limits.resources:
            raise limits.too_many_resources("FHIR server answer")
        pages += 1
        url = _next_link(body, server)
    return out


IN_THREAD_BYTES = 64 * 1024


def _decode(raw: bytes, limits: Limits) -> Any:
    return decode_strict(raw, limits, "FHIR server answer", fhir=True)


async def _get(
    http: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    timeout_s: float,
    limits: Limits,
    *,
    is_patient: bool,
) -> bytes:
    """One answer, read no further than the byte limit."""
    async with http.stream("GET", url, headers=headers, timeout=timeout_s) as response:
        if response.status_code == 404 and is_patient:
            raise InputError("the patient in context was not found on the FHIR server")
        response.raise_for_status()
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limits.body_bytes:
                raise LimitExceeded(
                    f"FHIR server answer larger than {limits.body_bytes} bytes",
                    "max_body_bytes",
                    limits.body_bytes,
                )
            chunks.append(chunk)
    return b"".join(chunks)


def _next_link(body: dict[str, Any], server: str) -> str | None:
    found = body.get("link")
    for link in found if isinstance(found, list) else []:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            nxt: str = link["url"]
            return nxt if nxt.startswith(server + "/") else None  # never follow a link off the server
    return None
