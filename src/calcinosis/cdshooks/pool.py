"""Where assessments run, each with an optional deadline: threads of the server process, or engine processes.

- :class:`ThreadRunner` (``CALCINOSIS_ENGINE_PROCESSES=0``, the default): each call in a daemon thread. A
  call past its deadline is left to finish off the request path: its caller has already answered, its
  result is dropped, and being a daemon thread it never holds up a shutdown. At most ``MAX_THREADS`` calls
  run at once (4), those still finishing included, so work left behind cannot pile up.
- :class:`ProcessRunner` (``CALCINOSIS_ENGINE_PROCESSES=N``): N engine processes (:mod:`.worker`), each
  loading the pack and vocabularies once, so that every core works however connections are spread. A call
  past its deadline is cancelled: its process is killed and a replacement started at once; until it is
  ready, a call that finds no free process runs in a thread instead of waiting, one at a time (a thread
  left finishing holds the server's interpreter, so no more than one runs), else waits for a process. An engine process that
  dies unexpectedly is replaced the same way, and its call retried in a thread. Engine processes die with
  the server, whatever kills it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import sys
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from calcinosis.cdshooks.worker import HEADER, READY

log = logging.getLogger("calcinosis.engine")

T = TypeVar("T")
MAX_THREADS = 4
START_TIMEOUT_S = 120.0


class EngineBusy(TimeoutError):
    """No engine was free before the deadline."""


def warm() -> None:
    """Load what every call needs once (in an engine process at start, or in the server)."""
    from calcinosis.cdshooks.compute import records_calcinosis  # noqa: F401 - import the whole path once
    from calcinosis.pack.loader import load_pack_cached
    from calcinosis.patient.codes import load_vocabulary

    load_pack_cached()
    load_vocabulary()


class Runner(Protocol):
    in_process: bool  # True: calls run in the server process (pass the pack rather than load it)

    async def run(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T: ...

    async def close(self) -> None: ...


class ThreadRunner:
    in_process = True

    def __init__(self, max_running: int = MAX_THREADS) -> None:
        self._slots = asyncio.Semaphore(max_running)

    @property
    def free(self) -> bool:
        """A call would start at once (no thread slot to wait for)."""
        return not self._slots.locked()

    async def run(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout)
        except TimeoutError:
            raise EngineBusy("no engine thread free within the deadline") from None
        future: asyncio.Future[T] = loop.create_future()

        def settle(ok: bool, value: Any) -> None:
            self._slots.release()
            if future.done():  # the caller gave up (deadline or cancellation): drop the result
                return
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

        def target() -> None:
            try:
                result: tuple[bool, Any] = (True, fn(*args))
            except BaseException as exc:
                result = (False, exc)
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile (shutdown)
                loop.call_soon_threadsafe(settle, *result)

        threading.Thread(target=target, name="calcinosis-engine", daemon=True).start()
        remaining = None if deadline is None else max(deadline - loop.time(), 0.0)
        return await asyncio.wait_for(future, remaining)

    async def close(self) -> None:
        return None


class _Engine:
    """One engine process and its message pipes."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def spawn(cls) -> _Engine:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "calcinosis.cdshooks.worker",
            str(os.getpid()),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        engine = cls(proc)
        try:
            ready = await asyncio.wait_for(engine._read(), START_TIMEOUT_S)
        except BaseException:
            engine.kill()
            raise
        if ready != READY:
            engine.kill()
            raise RuntimeError("engine process did not start")
        return engine

    async def _read(self) -> bytes:
        assert self.proc.stdout is not None  # noqa: S101 - created with a pipe
        (size,) = HEADER.unpack(await self.proc.stdout.readexactly(HEADER.size))
        return await self.proc.stdout.readexactly(size)

    async def call(self, message: bytes) -> bytes:
        assert self.proc.stdin is not None  # noqa: S101 - created with a pipe
        self.proc.stdin.write(HEADER.pack(len(message)) + message)
        await self.proc.stdin.drain()
        return await self._read()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()

    async def stop(self, grace: float = 1.0) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()  # end of input: an idle engine exits by itself
        try:
            await asyncio.wait_for(self.proc.wait(), grace)
        except TimeoutError:
            self.kill()
            await self.proc.wait()


class ProcessRunner:
    in_process = False

    def __init__(self, size: int, fallback: ThreadRunner) -> None:
        self.size = size
        self._fallback = fallback
        self._idle: asyncio.Queue[_Engine] = asyncio.Queue()
        self._engines: set[_Engine] = set()
        self._starting: set[asyncio.Task[None]] = set()
        self._closed = False
        self.replaced = 0

    async def start(self) -> ProcessRunner:
        engines = await asyncio.gather(*(_Engine.spawn() for _ in range(self.size)), return_exceptions=True)
        failed = [e for e in engines if isinstance(e, BaseException)]
        for engine in engines:
            if isinstance(engine, _Engine):
                self._engines.add(engine)
                self._idle.put_nowait(engine)
        if failed:
            await self.close()
            raise RuntimeError(f"engine processes did not start ({type(failed[0]).__name__})")
        return self

    def _replace(self, engine: _Engine) -> None:
        """Kill ``engine`` (its state is unknown) and start another in the background."""
        engine.kill()
        self._engines.discard(engine)
        if self._closed:
            return
        self.replaced += 1
        task = asyncio.get_running_loop().create_task(self._respawn())
        self._starting.add(task)
        task.add_done_callback(self._starting.discard)

    async def _respawn(self) -> None:
        delay = 0.5
        while not self._closed:
            try:
                engine = await _Engine.spawn()
            except Exception as exc:
                log.error("engine process did not start (%s); trying again", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            if self._closed:
                await engine.stop()
                return
            self._engines.add(engine)
            self._idle.put_nowait(engine)
            return

    async def run(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout

        def left() -> float | None:
            return None if deadline is None else max(deadline - loop.time(), 0.0)

        try:
            engine = self._idle.get_nowait()
        except asyncio.QueueEmpty:
            if self._starting and self._fallback.free:  # a replacement is on its way: do not wait for it
                return await self._fallback.run(fn, *args, timeout=left())
            try:
                engine = await asyncio.wait_for(self._idle.get(), left())
            except TimeoutError:
                raise EngineBusy("no engine process free within the deadline") from None
        message = pickle.dumps((fn, args))
        try:
            answer = await asyncio.wait_for(engine.call(message), left())
        except (asyncio.IncompleteReadError, ConnectionError, BrokenPipeError):
            log.error("engine process died; assessing in a thread while it is replaced")
            self._replace(engine)
            return await self._fallback.run(fn, *args, timeout=left())
        except BaseException:  # past the deadline, or the request was cancelled: stop the work
            self._replace(engine)
            raise
        self._idle.put_nowait(engine)
        status, value = pickle.loads(answer)  # noqa: S301 - written by our own engine process
        if status == "err":
            raise value
        result: T = value
        return result

    async def close(self) -> None:
        self._closed = True
        for task in list(self._starting):
            task.cancel()
        await asyncio.gather(*(e.stop() for e in list(self._engines)), return_exceptions=True)
        self._engines.clear()


FALLBACK_THREADS = 1  # calls run in threads while an engine process is replaced (left-over work included)


async def start_runner(processes: int, threads: ThreadRunner) -> Runner:
    """The engine runner for CDS Hooks calls: ``processes`` engine processes, or ``threads`` when 0."""
    if processes <= 0:
        return threads
    return await ProcessRunner(processes, ThreadRunner(FALLBACK_THREADS)).start()
