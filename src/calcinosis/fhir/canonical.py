"""Canonical URLs, code systems and small builders shared by the FHIR writers.

The base URL uses the reserved ``.example`` domain: it names this project's artifacts without claiming a
real host.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

from calcinosis.pack.levels import LEVEL_RULE

BASE = "https://calcinosis-cds.example/fhir"

CS_EVIDENCE_LEVEL = "CodeSystem/evidence-level"
CS_THERAPY_LINE = "CodeSystem/therapy-line"
CS_STANCE = "CodeSystem/therapy-stance"
CS_SUBTYPE = "CodeSystem/subtype"
CS_FIT = "CodeSystem/setting-fit"
CS_ITEM = "CodeSystem/pack-item"
CS_MEASURE = "CodeSystem/calcinosis-measure"
CS_STOP_REASON = "CodeSystem/course-stop-reason"

EXT_QUALITY = "http://hl7.org/fhir/StructureDefinition/cqf-qualityOfEvidence"
EXT_STRENGTH = "http://hl7.org/fhir/StructureDefinition/cqf-strengthOfRecommendation"
ACTION_TYPE = "http://terminology.hl7.org/CodeSystem/action-type"
PLAN_TYPE = "http://terminology.hl7.org/CodeSystem/plan-definition-type"


def url(kind_path: str, base: str = BASE) -> str:
    return f"{base}/{kind_path}"


def plan_url(pack_id: str, base: str = BASE) -> str:
    return f"{base}/PlanDefinition/{pack_id}"


def activity_url(therapy_id: str, base: str = BASE) -> str:
    return f"{base}/ActivityDefinition/{therapy_id}"


def pascal(slug: str) -> str:
    """A FHIR computable ``name`` from a slug: ``low-dose-warfarin`` → ``LowDoseWarfarin``."""
    name = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", slug) if part)
    return name if name[:1].isalpha() else f"X{name}"


def level_definitions() -> dict[str, str]:
    """A–E definitions, read from the pack's one statement of the rule."""
    body = LEVEL_RULE.split("(")[0]
    out: dict[str, str] = {}
    for part in body.split(";"):
        code, _, text = part.strip().partition(":")
        if code.strip() in {"A", "B", "C", "D", "E"}:
            out[code.strip()] = text.strip()
    return out


def coding(system_path: str, code: str, display: str | None = None, base: str = BASE) -> dict[str, Any]:
    c: dict[str, Any] = {"system": url(system_path, base), "code": code}
    if display:
        c["display"] = display
    return c


def quality_extension(level: str | None, base: str = BASE) -> dict[str, Any]:
    concept: dict[str, Any]
    if level is None:
        concept = {"coding": [coding(CS_EVIDENCE_LEVEL, "none", "No level derivable", base)]}
    else:
        text = level_definitions().get(level, "")
        concept = {
            "coding": [coding(CS_EVIDENCE_LEVEL, level, f"Level {level}", base)],
            "text": f"{level}: {text}",
        }
    return {"url": EXT_QUALITY, "valueCodeableConcept": concept}


def strength_extension(line: str | None, shown: str | None = None, base: str = BASE) -> dict[str, Any]:
    code = line or "no-line-stated"
    display = shown or (
        f"{line} line as stated by a source" if line else "No line of therapy stated by a source"
    )
    return {
        "url": EXT_STRENGTH,
        "valueCodeableConcept": {"coding": [coding(CS_THERAPY_LINE, code, display, base)]},
    }


def citation_url(pmid: str | None, doi: str | None, link: str | None) -> str | None:
    if pmid:
        return f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
    if doi:
        return f"https://doi.org/{doi}"
    return link


def related_artifact(
    short: str,
    citation: str,
    *,
    pmid: str | None = None,
    doi: str | None = None,
    link: str | None = None,
    section: str | None = None,
) -> dict[str, Any]:
    text = citation if not section else f"{citation} (section: {section})"
    art: dict[str, Any] = {"type": "citation", "label": short[:100], "display": short, "citation": text}
    target = citation_url(pmid, doi, link)
    if target:
        art["url"] = target
    return art


def stable_uuid(*parts: str) -> str:
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{BASE}/{digest}"))
