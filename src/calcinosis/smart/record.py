"""Read one patient's record from the EHR with the launch's token, in that patient's compartment only.

One read of the Patient and one search per resource type the FHIR reader uses (``patient=<id>``), all in
parallel, each following ``link[relation=next]`` on the same server up to a page limit. Every resource that
comes back is checked to belong to the patient; others are dropped and counted. What could not be read is
reported with its reason: a scope the EHR did not grant, a 403, a timeout, another error, or a page limit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlencode

import httpx
import orjson

from calcinosis.fhir.facts import REFERENCED_ONLY
from calcinosis.smart.errors import EhrError, PatientMismatch, SessionEnded, SmartError
from calcinosis.smart.oauth import AsyncOAuth2Client, OAuthError
from calcinosis.smart.scopes import INCLUDES, Granted, searched_types

PAGE_SIZE = 100
Status = Literal["read", "partial", "not-granted", "forbidden", "timeout", "failed"]
DATE_PATHS = (
    ("effectiveDateTime",),
    ("effectivePeriod", "start"),
    ("onsetDateTime",),
    ("onsetPeriod", "start"),
    ("performedDateTime",),
    ("performedPeriod", "start"),
    ("authoredOn",),
    ("dateAsserted",),
    ("recordedDate",),
    ("issued",),
    ("meta", "lastUpdated"),
)
WHY = {
    "not-granted": "the EHR did not grant the scope {scope}",
    "forbidden": "the EHR refused the request (HTTP 403)",
    "timeout": "the EHR did not answer within {timeout}",
}


@dataclass
class TypeRead:
    """How the read of one resource type went."""

    rtype: str
    status: Status = "read"
    count: int = 0
    first: str | None = None
    last: str | None = None
    pages: int = 0
    why: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "read"


@dataclass
class ReadReport:
    iss: str
    patient: str
    read_at: dt.datetime
    types: list[TypeRead] = field(default_factory=list)
    included: int = 0  # resources only referenced (Medication), read along with a search
    dropped: int = 0  # resources that came back but do not belong to this patient

    @property
    def complete(self) -> bool:
        return all(t.ok for t in self.types) and self.dropped == 0

    @property
    def not_read(self) -> list[TypeRead]:
        return [t for t in self.types if not t.ok]

    @property
    def total(self) -> int:
        return sum(t.count for t in self.types) + self.included

    def as_json(self) -> dict[str, Any]:
        return {
            "iss": self.iss,
            "patient": self.patient,
            "readAt": self.read_at.isoformat(),
            "types": [
                {
                    "type": t.rtype,
                    "status": t.status,
                    "count": t.count,
                    "first": t.first,
                    "last": t.last,
                    "pages": t.pages,
                    "why": t.why,
                }
                for t in self.types
            ],
            "included": self.included,
            "dropped": self.dropped,
        }


def resource_date(resource: dict[str, Any]) -> str | None:
    """The clinical date of a resource (YYYY-MM-DD), from the first date element it has."""
    for path in DATE_PATHS:
        value: Any = resource
        for step in path:
            value = value.get(step) if isinstance(value, dict) else None
        if isinstance(value, str) and len(value) >= 4:
            return value[:10]
    return None


def belongs(resource: dict[str, Any], patient: str, iss: str) -> bool:
    """Whether a resource is in this patient's compartment (the Patient itself, or its subject/patient)."""
    rtype = resource.get("resourceType")
    if rtype == "Patient":
        return resource.get("id") == patient
    targets = {f"Patient/{patient}", f"{iss}/Patient/{patient}"}
    for element in ("subject", "patient"):
        ref = resource.get(element)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            return ref["reference"] in targets
    return False


class _Reader:
    def __init__(
        self, client: AsyncOAuth2Client, iss: str, patient: str, timeout_s: float, max_pages: int
    ) -> None:
        self.client = client
        self.iss = iss
        self.patient = patient
        self.timeout_s = timeout_s
        self.max_pages = max_pages
        self.resources: dict[tuple[str, str], dict[str, Any]] = {}
        self.included = 0
        self.dropped = 0

    async def get(self, url: str) -> dict[str, Any]:
        try:
            response = await self.client.get(
                url, headers={"Accept": "application/fhir+json"}, timeout=self.timeout_s
            )
        except OAuthError as exc:  # expired without a refresh token, or the refresh was refused
            raise SessionEnded(
                "Your access to the EHR record has expired. Launch the app again from the EHR to read the record."
            ) from exc
        if response.status_code == 401:
            raise SessionEnded(
                "The EHR no longer accepts this app's access token (it expired or was revoked). Launch the app "
                "again from the EHR."
            )
        if response.status_code == 403:
            raise _Forbidden
        if response.status_code != 200:
            raise EhrError(f"HTTP {response.status_code}")
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise EhrError("not JSON") from exc
        if not isinstance(body, dict):
            raise EhrError("not a FHIR resource")
        return body

    def keep(self, resource: Any, rtype: str, mode: str | None) -> tuple[bool, str | None]:
        """Keep a resource that belongs here; returns (kept as a match of ``rtype``, its date)."""
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            return False, None
        found = resource["resourceType"]
        rid = resource.get("id")
        if found in REFERENCED_ONLY and mode == "include":
            if isinstance(rid, str):
                self.included += (found, rid) not in self.resources
                self.resources[(found, rid)] = resource
            return False, None
        if found != rtype or not isinstance(rid, str) or not belongs(resource, self.patient, self.iss):
            if found != "OperationOutcome":
                self.dropped += 1
            return False, None
        self.resources[(found, rid)] = resource
        return True, resource_date(resource)

    async def read_type(self, rtype: str, granted: Granted) -> TypeRead:
        result = TypeRead(rtype)
        missing = granted.missing_for(rtype)
        if missing:
            return TypeRead(rtype, "not-granted", why=WHY["not-granted"].format(scope=missing))
        dates: list[str] = []
        try:
            if rtype == "Patient":
                body = await self.get(f"{self.iss}/Patient/{quote(self.patient, safe='')}")
                kept, _ = self.keep(body, "Patient", None)
                if not kept:
                    raise PatientMismatch(
                        "The EHR returned a different patient than the one this launch is for, so nothing from "
                        "this read is shown or recorded."
                    )
                result.count, result.pages = 1, 1
                return result
            params: dict[str, str | int] = {"patient": self.patient, "_count": PAGE_SIZE}
            if rtype in INCLUDES and all(granted.allows(t, "r") for t in REFERENCED_ONLY):
                params["_include"] = INCLUDES[rtype]
            url: str | None = f"{self.iss}/{rtype}?{urlencode(params)}"
            while url is not None:
                if result.pages >= self.max_pages:
                    result.status = "partial"
                    result.why = f"stopped after {self.max_pages} pages of results (the page limit)"
                    break
                body = await self.get(url)
                result.pages += 1
                if body.get("resourceType") != "Bundle":
                    raise EhrError("a search did not return a Bundle")
                for entry in body.get("entry") or []:
                    if not isinstance(entry, dict):
                        continue
                    search = entry.get("search")
                    mode = search.get("mode") if isinstance(search, dict) else None
                    kept, date = self.keep(entry.get("resource"), rtype, mode)
                    if kept:
                        result.count += 1
                        if date:
                            dates.append(date)
                url = self.next_link(body)
                if url == "":
                    result.status = "partial"
                    result.why = "the next page is on another server and was not followed"
                    break
        except _Forbidden:
            return TypeRead(rtype, "forbidden", why=WHY["forbidden"])
        except httpx.TimeoutException:
            timeout = f"{self.timeout_s:g} s"
            return TypeRead(rtype, "timeout", pages=result.pages, why=WHY["timeout"].format(timeout=timeout))
        except httpx.HTTPError as exc:
            return TypeRead(rtype, "failed", why=f"the request failed ({type(exc).__name__})")
        except EhrError as exc:
            return TypeRead(rtype, "failed", why=f"the EHR's answer could not be used ({exc.message})")
        if dates:
            result.first, result.last = min(dates), max(dates)
        return result

    def next_link(self, body: dict[str, Any]) -> str | None:
        """The next page's URL; "" when it points off this server (never followed), None at the end."""
        links = body.get("link")
        for link in links if isinstance(links, list) else []:
            if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
                url: str = link["url"]
                return url if url.startswith(self.iss + "/") else ""
        return None


class _Forbidden(Exception):
    pass


async def read_record(
    client: AsyncOAuth2Client,
    *,
    iss: str,
    patient: str,
    granted: Granted,
    timeout_s: float,
    max_pages: int,
) -> tuple[list[dict[str, Any]], ReadReport]:
    """The patient's resources and the report of what was read. Raises SessionEnded when the token is no
    longer accepted (nothing partial is returned then)."""
    reader = _Reader(client, iss, patient, timeout_s, max_pages)
    types = ("Patient", *searched_types())
    done = await asyncio.gather(*(reader.read_type(t, granted) for t in types), return_exceptions=True)
    report = ReadReport(iss, patient, dt.datetime.now(dt.UTC))
    for rtype, outcome in zip(types, done, strict=True):
        if isinstance(outcome, SmartError):
            raise outcome
        if isinstance(outcome, BaseException):
            report.types.append(TypeRead(rtype, "failed", why=f"unexpected {type(outcome).__name__}"))
        else:
            report.types.append(outcome)
    report.included, report.dropped = reader.included, reader.dropped
    return list(reader.resources.values()), report


def as_bundle(resources: list[dict[str, Any]], report: ReadReport) -> dict[str, Any]:
    """A collection Bundle for the FHIR reader. When the Patient could not be read, a Patient with only its
    id stands in, so the record's references resolve (age and sex are then reported unknown)."""
    have_patient = any(r.get("resourceType") == "Patient" for r in resources)
    entries: list[dict[str, Any]] = []
    if not have_patient:
        entries.append({"resource": {"resourceType": "Patient", "id": report.patient}})
    entries += [{"fullUrl": f"{report.iss}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": report.read_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "entry": entries,
    }
