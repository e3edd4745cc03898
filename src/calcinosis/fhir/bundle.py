"""Open a FHIR R4 Bundle (any type) or a single resource, index its entries and resolve references.

Structural problems raise :class:`FhirInputError` naming what and where (``Bundle.entry[3].resource``);
entries that are well formed but cannot be used become input issues.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from calcinosis.errors import FhirInputError
from calcinosis.fhir.resources import PATIENT_RESOURCE_TYPES
from calcinosis.patient.models import InputIssue

BUNDLE_TYPES = frozenset(
    {
        "document",
        "message",
        "transaction",
        "transaction-response",
        "batch",
        "batch-response",
        "history",
        "searchset",
        "collection",
    }
)

# Resource types that carry one patient's data; a single resource of another type is not assessable.
PATIENT_DATA_TYPES = frozenset(PATIENT_RESOURCE_TYPES)


@dataclass(frozen=True)
class Entry:
    """One resource with where it sits (for messages) and the fullUrl it was given."""

    resource: dict[str, Any]
    index: int | None
    full_url: str | None

    @property
    def type(self) -> str:
        return str(self.resource["resourceType"])

    @property
    def key(self) -> str:
        """A stable id for facts: ``Type/id`` or the entry's fullUrl or position."""
        rid = self.resource.get("id")
        if isinstance(rid, str) and rid:
            return f"{self.type}/{rid}"
        if self.full_url:
            return self.full_url
        return f"{self.type}/entry-{self.index}"

    @property
    def where(self) -> str:
        rid = self.resource.get("id")
        label = f"{self.type}/{rid}" if isinstance(rid, str) and rid else self.type
        if self.index is None:
            return label
        return f"Bundle.entry[{self.index}].resource({label})"


@dataclass
class OpenedBundle:
    entries: list[Entry]
    is_bundle: bool
    issues: list[InputIssue] = field(default_factory=list)
    timestamp: str | None = None
    _by_url: dict[str, Entry] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for entry in self.entries:
            for key in _keys(entry):
                self._by_url.setdefault(key, entry)

    def resolve(self, reference: Any, holder: Entry) -> dict[str, Any] | None:
        """The resource a Reference points to (contained, by fullUrl, or by ``Type/id``), else None."""
        if not isinstance(reference, dict):
            return None
        ref = reference.get("reference")
        if not isinstance(ref, str) or not ref:
            return None
        if ref.startswith("#"):
            for contained in holder.resource.get("contained") or []:
                if isinstance(contained, dict) and contained.get("id") == ref[1:]:
                    return contained
            return None
        found = self._by_url.get(ref) or self._by_url.get(_type_id(ref) or "")
        return found.resource if found else None

    def patients(self) -> list[Entry]:
        return [e for e in self.entries if e.type == "Patient"]


def _type_id(url: str) -> str | None:
    """``http://x/fhir/Patient/1/_history/2`` → ``Patient/1``."""
    parts = [p for p in url.split("/") if p]
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and parts[-2][:1].isupper():
        return f"{parts[-2]}/{parts[-1]}"
    return None


def _keys(entry: Entry) -> list[str]:
    keys = []
    if entry.full_url:
        keys.append(entry.full_url)
        tid = _type_id(entry.full_url)
        if tid and tid.startswith(entry.type + "/"):
            keys.append(tid)
    rid = entry.resource.get("id")
    if isinstance(rid, str) and rid:
        keys.append(f"{entry.type}/{rid}")
    return keys


def _resource_type(obj: Any, where: str) -> str:
    if not isinstance(obj, dict):
        raise FhirInputError(f"{where}: expected a JSON object")
    rt = obj.get("resourceType")
    if not isinstance(rt, str) or not rt:
        raise FhirInputError(f"{where}: resourceType is missing")
    return rt


def open_bundle(data: Any) -> OpenedBundle:
    """Check the outer structure and list the entries. Raises FhirInputError when it cannot be read."""
    rt = _resource_type(data, "FHIR input")
    if rt != "Bundle":
        if rt not in PATIENT_DATA_TYPES:
            allowed = ", ".join(sorted(PATIENT_DATA_TYPES))
            raise FhirInputError(
                f"FHIR input: resourceType '{rt}' cannot be assessed; expected a Bundle or one of {allowed}"
            )
        return OpenedBundle([Entry(data, None, None)], is_bundle=False)
    btype = data.get("type")
    if btype is not None and btype not in BUNDLE_TYPES:
        raise FhirInputError(f"Bundle.type: '{btype}' is not a FHIR bundle type")
    raw_entries = data.get("entry", [])
    if not isinstance(raw_entries, list):
        raise FhirInputError("Bundle.entry: expected a list")
    entries: list[Entry] = []
    issues: list[InputIssue] = []
    for i, raw in enumerate(raw_entries):
        where = f"Bundle.entry[{i}]"
        if not isinstance(raw, dict):
            raise FhirInputError(f"{where}: expected a JSON object")
        resource = raw.get("resource")
        full_url = raw.get("fullUrl") if isinstance(raw.get("fullUrl"), str) else None
        if resource is None:
            method = (
                (raw.get("request") or {}).get("method") if isinstance(raw.get("request"), dict) else None
            )
            what = f"a {method} request" if method else "no resource"
            issues.append(InputIssue(location=where, message=f"entry has {what}; nothing to read"))
            continue
        _resource_type(resource, f"{where}.resource")
        search = raw.get("search")
        if isinstance(search, dict) and search.get("mode") == "outcome":
            issues.append(
                InputIssue(
                    location=f"{where}.resource",
                    message="search outcome (OperationOutcome) from the sending server; not patient data",
                    severity="information",
                )
            )
            continue
        entries.append(Entry(resource, i, full_url))
    if not entries:
        raise FhirInputError("Bundle: holds no resources to assess")
    stamp = data.get("timestamp") if isinstance(data.get("timestamp"), str) else None
    return OpenedBundle(entries, is_bundle=True, issues=issues, timestamp=stamp)


def check_patient(opened: OpenedBundle) -> Entry | None:
    """The one Patient of the input, checking that every subject reference points to it."""
    patients = opened.patients()
    if len(patients) > 1:
        names = ", ".join(p.key for p in patients)
        raise FhirInputError(f"Bundle: holds more than one Patient ({names}); assess one patient at a time")
    patient = patients[0] if patients else None
    for entry in opened.entries:
        if entry.type == "Patient":
            continue
        for element in ("subject", "patient"):
            ref = entry.resource.get(element)
            if ref is None:
                continue
            where = f"{entry.where}.{element}"
            if not isinstance(ref, dict):
                raise FhirInputError(f"{where}: expected a Reference object")
            text = ref.get("reference")
            if not isinstance(text, str):
                continue  # identifier- or display-only reference: nothing to resolve
            if patient is None:
                if opened.is_bundle:
                    raise FhirInputError(f"Bundle: no Patient resource, but {where} refers to '{text}'")
                continue
            target = opened.resolve(ref, entry)
            if target is None:
                raise FhirInputError(
                    f"{where}: reference '{text}' does not resolve to a resource in the Bundle"
                )
            if target is not patient.resource:
                raise FhirInputError(f"{where}: refers to a {target.get('resourceType')}, not the Patient")
    return patient
