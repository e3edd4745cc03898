"""One engine process: ``python -m calcinosis.cdshooks.worker PARENT_PID``.

It loads the pack and vocabularies once, says it is ready, then runs the calls its parent sends, one at a
time, over its standard input and output: each message is a 4-byte big-endian length and a pickle
(``(function, args)`` in; ``("ok", value)`` or ``("err", exception)`` out). Only the parent writes to it.

It dies with its parent whatever happens: on Linux the kernel kills it when the parent dies
(``PR_SET_PDEATHSIG``), elsewhere (and as a second guard) a thread notices the parent is gone; an end of
input (the parent closed the pipe) ends it too. Ctrl-C in a terminal reaches the whole process group, so
it ignores SIGINT and leaves stopping to its parent.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import signal
import struct
import sys
import threading
import time
from typing import Any, BinaryIO

PR_SET_PDEATHSIG = 1
HEADER = struct.Struct(">I")
READY = b"ready"


def die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the guard was set
        os._exit(0)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def read_message(stream: BinaryIO) -> bytes | None:
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    body = stream.read(size)
    return body if len(body) == size else None


def write_message(stream: BinaryIO, body: bytes) -> None:
    stream.write(HEADER.pack(len(body)) + body)
    stream.flush()


def _answer(fn: Any, args: tuple[Any, ...]) -> bytes:
    try:
        out: tuple[str, Any] = ("ok", fn(*args))
    except Exception as exc:  # sent back to be raised in the parent (an InputError stays an InputError)
        out = ("err", exc)
    try:
        return pickle.dumps(out)
    except Exception as exc:  # an exception or value that does not pickle
        return pickle.dumps(
            ("err", RuntimeError(f"engine process: result not transferable ({type(exc).__name__})"))
        )


def serve(inp: BinaryIO, out: BinaryIO) -> None:
    from calcinosis.cdshooks.pool import warm

    warm()
    write_message(out, READY)
    while (message := read_message(inp)) is not None:
        fn, args = pickle.loads(message)  # noqa: S301 - written by our parent process only
        write_message(out, _answer(fn, args))


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(int(sys.argv[1]))
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints go to the log, never into the message stream
    sys.stdout = sys.stderr
    serve(sys.stdin.buffer, out)


if __name__ == "__main__":
    main()
