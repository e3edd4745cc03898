"""One input → one recorded assessment: the one place where a patient's data becomes an assessment and, for
the services, an audit record.

    read     JSON bytes or parsed JSON, native case or FHIR R4 (detected by ``resourceType``) → Case and input
             issues; any other exception a reader raises becomes an InputError (a 4xx, never a 500)
    assess   Case → Assessment by the engine, with the input hash (SHA-256 of the case as read)
    record   the audit entry (:func:`audit_entry`, the only place one is built) written to the store

Every edge goes through here for that job:

- ``calcinosis assess`` reads and assesses (:func:`assess_bytes`; a terminal keeps no audit trail);
- ``POST /assess``, the web pages and SMART launches read, assess and record (:func:`assess_and_record`);
- CDS Hooks reads and assesses its resources in an engine process (:func:`assess_resources`) and records
  the cards it returned with the assessment (:func:`audit_entry`, :func:`record`);
- screening reads and assesses each selected patient (:func:`assess_data`); its outputs are its record;
- the treatment registry assesses a patient's stored record (:func:`assess_case`, read by :func:`read` when
  it was stored), and its pages record the assessment they show (:func:`audit_entry`, :func:`record`).

CPU work runs where the caller says (a :class:`Runner`: threads or engine processes), never on the event
loop; the assessment functions take and return plain, picklable data.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

import orjson

from calcinosis.engine import assess
from calcinosis.engine.results import Assessment
from calcinosis.errors import InputError
from calcinosis.inputs import decode_json, read_patient
from calcinosis.limits import Limits
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.patient.models import Case, InputIssue

if TYPE_CHECKING:  # the store (and its drivers and settings) is imported by the services that record
    from calcinosis.store import AuditEntry, IssuedCard, Store

T = TypeVar("T")
Channel = Literal["rest", "cds-hooks"]
Status = Literal["complete", "degraded"]

UNREADABLE_INPUT = "input could not be read as a case or FHIR input"
UNREADABLE_DATA = "patient data could not be read"
# What a reader may raise on input it did not foresee; translated into an InputError naming the type only.
READER_FAULTS = (ValueError, TypeError, KeyError, AttributeError, IndexError)


class Runner(Protocol):
    """Where CPU work runs (:mod:`calcinosis.server.engines`: threads or engine processes)."""

    async def run(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T: ...


# ------------------------------------------------------------------------------------------ reading
def read(
    data: Any, *, as_of: dt.date | None = None, unreadable: str = UNREADABLE_INPUT
) -> tuple[Case, list[InputIssue]]:
    """A native case or FHIR R4 (a Bundle of any type, or one resource) → Case and input issues."""
    try:
        return read_patient(data, as_of=as_of)
    except InputError:
        raise
    except READER_FAULTS as exc:
        raise InputError(f"{unreadable} ({type(exc).__name__})") from exc


def as_bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """Resources gathered one by one (CDS Hooks prefetch and fetches, SMART reads, screening groups) as one
    collection Bundle; a resource given twice (same type and id) is kept once, the last one."""
    unique: dict[tuple[Any, Any], dict[str, Any]] = {}
    for i, r in enumerate(resources):
        key = (r.get("resourceType"), r.get("id")) if isinstance(r.get("id"), str) else ("#", i)
        unique[key] = r
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in unique.values()],
    }


# ------------------------------------------------------------------------------------------ assessing
def digest(*parts: Any) -> str:
    """SHA-256 of the parts as canonical JSON (sorted keys)."""
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class Assessed:
    """One input read and assessed."""

    case: Case
    assessment: Assessment

    @cached_property
    def input_hash(self) -> str:
        """What the audit trail keeps of the input: a hash of the case as read (never the data itself)."""
        return digest(self.case.model_dump(mode="json"))


def assess_case(
    case: Case,
    pack: KnowledgePack,
    *,
    as_of: dt.date | None = None,
    issues: Sequence[InputIssue] = (),
) -> Assessed:
    """A case already read (e.g. the treatment registry's stored record with its courses) → Assessed."""
    return Assessed(case, assess(case, pack, issues=issues, as_of=as_of))


def assess_data(
    data: Any,
    pack: KnowledgePack,
    *,
    as_of: dt.date | None = None,
    unreadable: str = UNREADABLE_INPUT,
    issues: Sequence[InputIssue] = (),
) -> Assessed:
    """Parsed JSON → Assessed. ``issues`` are input issues found outside the data itself (e.g. the parts
    of a bulk export that could not be read), shown after the reader's own."""
    case, found = read(data, as_of=as_of, unreadable=unreadable)
    return assess_case(case, pack, as_of=as_of, issues=[*found, *issues])


def assess_bytes(
    raw: bytes,
    pack: KnowledgePack,
    *,
    where: str = "body",
    as_of: dt.date | None = None,
    limits: Limits | None = None,
) -> Assessed:
    """JSON bytes (strictly decoded within ``limits``) → Assessed. Raises InputError naming ``where``."""
    unreadable = f"{where} could not be read as a case or FHIR input"
    return assess_data(decode_json(raw, where, limits), pack, as_of=as_of, unreadable=unreadable)


def assess_resources(resources: list[dict[str, Any]], pack: KnowledgePack, *, today: dt.date) -> Assessed:
    """A patient's resources gathered one by one → Assessed, ages and recency as of ``today``."""
    return assess_data(as_bundle(resources), pack, as_of=today, unreadable=UNREADABLE_DATA)


# ------------------------------------------------------------------------------------------ recording
@dataclass(frozen=True)
class Origin:
    """Who asked for an assessment and through which channel and service (what the audit names)."""

    channel: Channel
    service: str
    caller_iss: str | None = None
    caller_client: str | None = None


def audit_entry(
    origin: Origin,
    pack: KnowledgePack,
    input_hash: str,
    output: dict[str, Any],
    *,
    status: Status = "complete",
    cards: tuple[IssuedCard, ...] = (),
) -> AuditEntry:
    """The audit record of one assessment served (with a new request id): the only place one is built."""
    from calcinosis.store import AuditEntry

    return AuditEntry(
        request_id=str(uuid.uuid4()),
        channel=origin.channel,
        service=origin.service,
        caller_iss=origin.caller_iss,
        caller_client=origin.caller_client,
        pack_version=pack.meta.version,
        pack_hash=pack.content_hash,
        input_hash=input_hash,
        status=status,
        output=output,
        cards=cards,
    )


async def record(store: Store, entry: AuditEntry) -> None:
    """Write the entry (durable when this returns), off the event loop. Raises StoreError."""
    import anyio

    await anyio.to_thread.run_sync(store.write_audit, entry)


@dataclass(frozen=True)
class Recorded:
    assessed: Assessed
    body: dict[str, Any]  # the assessment as JSON (the public contract)
    entry: AuditEntry

    @property
    def assessment(self) -> Assessment:
        return self.assessed.assessment

    @property
    def request_id(self) -> str:
        return self.entry.request_id


async def assess_and_record(
    raw: bytes,
    *,
    pack: KnowledgePack,
    store: Store,
    runner: Runner,
    origin: Origin,
    as_of: dt.date | None = None,
    limits: Limits | None = None,
    status: Status = "complete",
    beside: Mapping[str, Any] | None = None,
) -> Recorded:
    """Read, assess, hash and record one input; the record holds the assessment (under ``assessment``,
    next to ``beside``, when ``beside`` is given). Raises InputError for input that cannot be used and
    StoreError when the record cannot be written (nothing is answered without its record)."""
    work = functools.partial(assess_bytes, raw, pack, as_of=as_of, limits=limits)
    assessed = await runner.run(work)
    body: dict[str, Any] = assessed.assessment.model_dump(mode="json")
    output = body if beside is None else {"assessment": body, **beside}
    entry = audit_entry(origin, pack, assessed.input_hash, output, status=status)
    await record(store, entry)
    return Recorded(assessed, body, entry)
