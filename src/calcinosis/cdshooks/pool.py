"""Engine processes: assessments run in a small process pool, so that every core works however the
HTTP connections happen to be spread over server processes (one event loop serves them all).

Each process loads the pack and vocabularies once, at start. The pool is optional
(``CALCINOSIS_ENGINE_PROCESSES``, default 0: assess in a thread of the server process).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor


def _warm() -> None:
    from calcinosis.cdshooks.compute import records_calcinosis  # noqa: F401 - import the whole path once
    from calcinosis.pack.loader import load_pack_cached
    from calcinosis.patient.codes import load_vocabulary

    load_pack_cached()
    load_vocabulary()


def start_pool(processes: int) -> ProcessPoolExecutor | None:
    if processes <= 0:
        return None
    pool = ProcessPoolExecutor(
        max_workers=processes, mp_context=multiprocessing.get_context("spawn"), initializer=_warm
    )
    for future in [pool.submit(_warm) for _ in range(processes)]:
        future.result()  # every process up and warm before the first call
    return pool
