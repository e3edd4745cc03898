"""Run the per-patient assessments in this process or in a pool of worker processes, in order.

The pool is fed a bounded window of batches (never the whole stream), so memory stays flat however many
patients are picked, and results come back in the order the patients went in, so a run's output does
not depend on the number of workers. Workers are started with ``spawn`` (no fork of a process that runs
engine threads) and load the pack once.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice

from calcinosis.pack import KnowledgePack, load_pack_cached
from calcinosis.patient.models import InputIssue
from calcinosis.screen.assessing import PatientResult, assess_patient
from calcinosis.screen.backends.base import PatientGroup

BATCH = 32

_state: dict[str, object] = {}


def _init_worker(as_of: dt.date | None, issues: tuple[InputIssue, ...]) -> None:
    _state["pack"] = load_pack_cached()
    _state["as_of"] = as_of
    _state["issues"] = issues


def _assess_batch(batch: list[tuple[str, tuple[bytes, ...]]]) -> list[PatientResult]:
    pack = _state["pack"]
    as_of = _state["as_of"]
    assert isinstance(pack, KnowledgePack)  # noqa: S101 - set by _init_worker
    assert as_of is None or isinstance(as_of, dt.date)  # noqa: S101
    issues = _state["issues"]
    assert isinstance(issues, tuple)  # noqa: S101
    return [assess_patient(pid, resources, pack, as_of, issues) for pid, resources in batch]


def assess_inline(
    groups: Iterable[PatientGroup],
    pack: KnowledgePack,
    as_of: dt.date | None,
    issues: tuple[InputIssue, ...] = (),
) -> Iterator[PatientResult]:
    for g in groups:
        yield assess_patient(g.patient_id, g.resources, pack, as_of, issues)


def assess_in_pool(
    groups: Iterable[PatientGroup], workers: int, as_of: dt.date | None, issues: tuple[InputIssue, ...] = ()
) -> Iterator[PatientResult]:
    """Assess in ``workers`` processes, at most ``2 * workers`` batches in flight, results in input order."""
    ctx = multiprocessing.get_context("spawn")
    it = iter(groups)
    pending: deque[Future[list[PatientResult]]] = deque()
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(as_of, issues)
    ) as pool:

        def submit() -> bool:
            batch = [(g.patient_id, g.resources) for g in islice(it, BATCH)]
            if batch:
                pending.append(pool.submit(_assess_batch, batch))
            return bool(batch)

        while len(pending) < 2 * workers and submit():
            pass
        while pending:
            results = pending.popleft().result()
            submit()
            yield from results


def assess_groups(
    groups: Iterable[PatientGroup],
    pack: KnowledgePack,
    as_of: dt.date | None,
    workers: int,
    issues: tuple[InputIssue, ...] = (),
) -> Iterator[PatientResult]:
    """Each group's result, in order; ``issues`` (parts of the export not read) go on every assessment."""
    if workers <= 1:
        return assess_inline(groups, pack, as_of, issues)
    return assess_in_pool(groups, workers, as_of, issues)
