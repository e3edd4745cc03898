"""The audit and feedback store, against SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest

from calcinosis.errors import StoreError
from calcinosis.settings import load_settings
from calcinosis.store import AuditEntry, FeedbackEntry, IssuedCard, Store, open_store


def entry(
    service: str = "calcinosis-patient-view", cards: tuple[IssuedCard, ...] = (), **kw: object
) -> AuditEntry:
    fields: dict[str, object] = {
        "request_id": str(uuid.uuid4()),
        "channel": "cds-hooks",
        "service": service,
        "caller_iss": "https://ehr.example.test",
        "caller_client": "client-1",
        "pack_version": "0.1.0",
        "pack_hash": "a" * 64,
        "input_hash": "b" * 64,
        "output": {"cards": [{"summary": "x"}]},
        "cards": cards,
        **kw,
    }
    return AuditEntry.model_validate(fields)


def card(level: str | None, rec: str) -> IssuedCard:
    return IssuedCard(uuid=str(uuid.uuid4()), recommendation=rec, evidence_level=level, indicator="info")


def feedback(card_uuid: str, outcome: str, when: str = "2026-11-01T10:00:00+00:00") -> FeedbackEntry:
    return FeedbackEntry(
        service="calcinosis-patient-view",
        card_uuid=card_uuid,
        outcome=outcome,  # type: ignore[arg-type]
        accepted_suggestions=("s1",) if outcome == "accepted" else (),
        outcome_timestamp=datetime.fromisoformat(when),
    )


def test_audit_record_reads_back_whole_when_written(store: Store) -> None:
    e = entry(output={"cards": [{"summary": "Calcinosis", "nested": {"a": [1, 2]}}]})
    new_id = store.write_audit(e)
    [back] = store.list_audit()
    assert back.id == new_id
    assert back.request_id == e.request_id
    assert back.output == e.output
    assert back.recorded_at == e.recorded_at
    assert (back.caller_iss, back.pack_hash, back.input_hash) == (e.caller_iss, e.pack_hash, e.input_hash)


def test_audit_ids_grow_and_pages_cover_everything_when_many_records(store: Store) -> None:
    ids = [store.write_audit(entry()) for _ in range(23)]
    assert ids == sorted(ids)
    assert [r.id for r in store.iter_audit(batch=5)] == ids
    assert [r.id for r in store.recent_audit(limit=4)] == ids[-4:]
    assert store.count_audit() == 23


def test_duplicate_request_id_is_refused_when_written_twice(store: Store) -> None:
    e = entry()
    store.write_audit(e)
    with pytest.raises(StoreError):
        store.write_audit(e)
    assert store.count_audit() == 1


def test_feedback_counts_each_card_once_when_sent_again(store: Store) -> None:
    c1, c2, c3 = card("D", "diltiazem"), card("D", "sodium-thiosulfate-intralesional"), card(None, "alert:x")
    store.write_audit(entry(cards=(c1, c2, c3)))
    store.write_feedback([feedback(c1.uuid, "accepted"), feedback(c2.uuid, "overridden")])
    store.write_feedback([feedback(c1.uuid, "accepted")])  # the same item again: kept once
    store.write_feedback(
        [feedback(c1.uuid, "accepted", "2026-11-02T10:00:00+00:00")]
    )  # later: kept, same card
    store.write_feedback([feedback(c3.uuid, "overridden"), feedback("not-ours", "overridden")])
    assert len(store.list_feedback()) == 5
    tallies = {(t.by, t.key): t for t in store.feedback_summary()}
    assert (
        tallies["recommendation", "diltiazem"].accepted,
        tallies["recommendation", "diltiazem"].overridden,
    ) == (1, 0)
    assert tallies["recommendation", "sodium-thiosulfate-intralesional"].override_rate == 1.0
    level_d = tallies["evidence-level", "D"]
    assert (level_d.accepted, level_d.overridden, level_d.acceptance_rate) == (1, 1, 0.5)
    assert tallies["recommendation", "unknown"].overridden == 1
    assert tallies["evidence-level", "unknown"].overridden == 2


def test_feedback_rows_carry_the_recommendation_when_the_card_was_ours(store: Store) -> None:
    c = card("C", "minocycline")
    store.write_audit(entry(cards=(c,)))
    store.write_feedback([feedback(c.uuid, "overridden")])
    [row] = store.list_feedback()
    assert (row.recommendation, row.evidence_level, row.outcome) == ("minocycline", "C", "overridden")
    assert row.outcome_timestamp == datetime(2026, 11, 1, 10, tzinfo=UTC)


def test_concurrent_writers_lose_nothing_when_threads_share_the_store(store: Store) -> None:
    written: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(15):
            e = entry(cards=(card("E", "no-treatment"),))
            store.write_audit(e)
            with lock:
                written.append(e.request_id)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.request_ids() == set(written)
    assert store.integrity_errors() == []


def test_store_opens_again_with_its_records_when_reopened(database_url: str) -> None:
    settings = load_settings(database_url=database_url)
    first = open_store(settings)
    e = entry()
    first.write_audit(e)
    first.close()
    second = open_store(settings)
    try:
        assert second.request_ids() == {e.request_id}
    finally:
        second.close()


def test_unknown_database_scheme_is_refused_when_configured() -> None:
    with pytest.raises(StoreError, match="postgresql:// or sqlite:///"):
        open_store(load_settings(database_url="mysql://x/y"))


def test_unreachable_postgres_is_a_store_error_when_opened() -> None:
    with pytest.raises(StoreError, match="PostgreSQL"):
        open_store(load_settings(database_url="postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"))
