"""HTI-1 source attributes: served per service, with the "uses" attributes computed from what the pack's
rules actually read."""

from __future__ import annotations

import httpx

from calcinosis.cdshooks.attributes import compute_uses, referenced_predicates
from calcinosis.pack import load_pack_cached
from calcinosis.pack.models import ContextAlert, SourceRef
from tests.servicekit.server import LiveServer

HTI1 = {
    "race",
    "ethnicity",
    "language",
    "sexualOrientation",
    "genderIdentity",
    "sex",
    "dateOfBirth",
    "socialDeterminants",
    "healthStatusAssessments",
}


def test_every_service_serves_its_source_attributes_when_discovered(server: LiveServer) -> None:
    pack = httpx.get(f"{server.url}/pack").json()
    for service in httpx.get(f"{server.url}/cds-services").json()["services"]:
        url = service["extension"]["org.calcinosis-cds.source-attributes"]
        doc = httpx.get(url).json()
        assert doc["service"] == service["id"]
        assert set(doc["uses"]) == HTI1
        assert doc["developer"] and doc["fundingSource"] and doc["bibliographicCitation"]
        assert doc["release"] == {
            "knowledgePack": pack["id"],
            "version": pack["version"],
            "lastReviewed": pack["last_reviewed"],
            "contentHash": pack["content_hash"],
        }


def test_uses_follow_the_predicates_the_pack_refers_to_when_computed() -> None:
    pack = load_pack_cached()
    uses = compute_uses(pack)
    referenced = referenced_predicates(pack)
    age_predicates = {"child", "age-under-8", "neonate"} & referenced
    assert uses["dateOfBirth"]["used"] is bool(age_predicates)
    assert set(uses["dateOfBirth"].get("predicates", [])) >= age_predicates
    for category in (
        "race",
        "ethnicity",
        "language",
        "sexualOrientation",
        "genderIdentity",
        "socialDeterminants",
    ):
        assert uses[category]["used"] is False


def test_sex_becomes_used_when_a_rule_starts_reading_it() -> None:
    pack = load_pack_cached()
    alert = ContextAlert(
        id="probe-sex",
        trigger=("young-adult-male",),
        severity="info",
        text="probe",
        sources=(SourceRef(source=next(iter(pack.sources))),),
    )
    changed = pack.model_copy(
        update={"alerts": (*pack.alerts, alert), "content_hash": "probe-" + pack.content_hash}
    )
    assert compute_uses(changed)["sex"] == {
        "label": "Use of sex",
        "used": True,
        "predicates": ["young-adult-male"],
    }


def test_date_of_birth_is_not_used_when_no_rule_reads_age() -> None:
    pack = load_pack_cached()
    changed = pack.model_copy(
        update={"rules": (), "alerts": (), "therapies": {}, "content_hash": "none-" + pack.content_hash}
    )
    assert compute_uses(changed)["dateOfBirth"]["used"] is False
