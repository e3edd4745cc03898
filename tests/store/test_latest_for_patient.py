"""``Store.latest_for_patient``: the newest assessment recorded for a patient id, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

from calcinosis.store import AuditEntry, Store


def record(output: dict[str, Any], channel: str = "rest") -> AuditEntry:
    return AuditEntry.model_validate(
        {
            "request_id": str(uuid.uuid4()),
            "channel": channel,
            "service": "assess" if channel == "rest" else "calcinosis-patient-view",
            "pack_version": "0.1.0",
            "pack_hash": "a" * 64,
            "input_hash": "b" * 64,
            "output": output,
        }
    )


def assessment(pid: str | None, mark: str) -> dict[str, Any]:
    return {"schema_version": "1", "patient_id": pid, "subtype": {"code": mark}}


def test_newest_record_is_returned_when_the_patient_was_assessed_twice(store: Store) -> None:
    store.write_audit(record(assessment("pt-1", "first")))
    store.write_audit(record(assessment("pt-2", "other")))
    store.write_audit(record(assessment("pt-1", "second")))
    store.write_audit(record(assessment(None, "anonymous")))
    found = store.latest_for_patient("pt-1")
    assert found is not None
    assert found.output["subtype"]["code"] == "second"
    assert store.latest_for_patient("pt-3") is None


def test_only_the_exact_id_matches_when_ids_hold_like_wildcards_or_case(store: Store) -> None:
    for pid in ("a_b", "a%b", "AXB", 'q"uote\\d'):
        store.write_audit(record(assessment(pid, pid)))
    assert store.latest_for_patient("axb") is None
    assert store.latest_for_patient("a-b") is None
    for pid in ("a_b", "a%b", "AXB", 'q"uote\\d'):
        found = store.latest_for_patient(pid)
        assert found is not None and found.output["patient_id"] == pid


def test_cards_and_nested_mentions_never_match_when_they_name_the_patient(store: Store) -> None:
    store.write_audit(record(assessment("pt-1", "the assessment")))
    nested = {"cards": [{"summary": "x", "extension": {"patient_id": "pt-1"}}]}
    for _ in range(5):
        store.write_audit(record(nested, channel="cds-hooks"))
    found = store.latest_for_patient("pt-1", batch=2)  # paging past candidates that are not assessments
    assert found is not None
    assert found.output["subtype"]["code"] == "the assessment"
