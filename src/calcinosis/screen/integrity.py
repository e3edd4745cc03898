"""Each export file checked before an engine reads it, so that damage is set aside and never stops a run.

A file is read once as a stream (``.gz`` through zlib, which checks each member's CRC): it must decompress to
its end, be valid UTF-8 and hold no line over ``MAX_LINE_BYTES``. A file that passes goes to the engine as it
is. A file that does not is read again line by line into a clean copy in the work folder (gzip at level 1
for ``.gz``, so that the copy keeps the file's name and stays small), which the engine reads instead:

- a line that is not UTF-8, or longer than the limit, is set aside with its line number;
- a ``.gz`` whose stream ends early (truncated) or breaks off in corrupt data is read up to the damage: the
  lines before it are used, a line cut by it is set aside, and the file is set aside as ``damaged-file``;
- a file that cannot be opened, is not gzip, or whose checksum fails (the content is altered somewhere, so
  no line of it can be trusted) gives nothing and is set aside as ``unreadable-file``.

Engines never see such bytes, so DuckDB and Spark classify the rest identically. The check costs about one
decompression of the export; files are checked on the engine's threads.
"""

from __future__ import annotations

import codecs
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from calcinosis.screen.ndjson import RESOURCE_TYPES, ExportFiles
from calcinosis.screen.quarantine import BadLine, BadLineReason

MAX_LINE_BYTES = 16 * 2**20  # the longest line read; DuckDB's JSON reader gives up past twice this
KEPT_BYTES = 1024  # of a line over the limit, the start kept in quarantine/
_READ = 2**20  # bytes read from a file at a time
_INFLATE = 4 * 2**20  # at most this many bytes inflated from one read (a gzip bomb stays bounded)
_GZIP_WBITS = 31


class _Damage(Exception):
    """The file cannot be read past this point; ``unusable`` when nothing in it can be trusted."""

    def __init__(self, detail: str, unusable: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.unusable = unusable


@dataclass(frozen=True)
class FileFault:
    """A file set aside whole or in part: ``damaged-file`` (read up to the damage) or ``unreadable-file``."""

    file: str
    resource_type: str
    reason: BadLineReason
    detail: str
    lines_read: int


@dataclass(frozen=True)
class CheckedExport:
    """The export as the engine should read it (clean copies in place of damaged files) and what was wrong."""

    export: ExportFiles
    faults: tuple[FileFault, ...]


def _is_gzip(path: Path) -> bool:
    return path.name.endswith(".gz")


def _inflate(handle: IO[bytes], notes: set[str]) -> Iterator[bytes]:
    """The decompressed bytes of a gzip file (one or more members), in chunks; raises _Damage where the
    stream breaks off, after yielding everything before it. Zero bytes after a member are padding, as for
    Python's gzip module (DuckDB refuses them: ``notes`` gets "padded" so that the engine reads a copy)."""
    inflater = zlib.decompressobj(wbits=_GZIP_WBITS)
    members = 0  # members read to their end
    fed = False  # the current member has been given data
    while raw := handle.read(_READ):
        data = raw
        while data:
            if members and not fed:
                stripped = data.lstrip(b"\0")
                if len(stripped) < len(data):
                    notes.add("padded")
                data = stripped
                if not data:
                    break
            fed = True
            before = inflater.copy()
            try:
                out = inflater.decompress(data, _INFLATE)
            except zlib.error as exc:
                yield from _up_to_the_error(before, data)
                raise _gzip_error(exc, first_member=members == 0) from exc
            if out:
                yield out
            while not inflater.unconsumed_tail and not inflater.eof and len(out) == _INFLATE:
                out = inflater.decompress(b"", _INFLATE)  # output held back by the cap
                if out:
                    yield out
            if inflater.eof:
                data = inflater.unused_data
                inflater = zlib.decompressobj(wbits=_GZIP_WBITS)
                members += 1
                fed = False
            else:
                data = inflater.unconsumed_tail
    if fed and not inflater.eof:
        yield inflater.flush()
        raise _Damage("the gzip stream ends early (the file is truncated)")


def _up_to_the_error(inflater: zlib._Decompress, data: bytes, step: int = 64) -> Iterator[bytes]:
    """Replay the input that failed in small steps, yielding what decompresses before the error."""
    for i in range(0, len(data), step):
        try:
            out = inflater.decompress(data[i : i + step])
        except zlib.error:
            return
        if out:
            yield out


def _gzip_error(exc: zlib.error, first_member: bool) -> _Damage:
    message = str(exc).removeprefix("Error -3 while decompressing data: ")
    if "incorrect header check" in message:
        if first_member:
            return _Damage("not a gzip file", unusable=True)
        return _Damage("data after the end of the gzip stream is not gzip")
    if "incorrect data check" in message or "incorrect length check" in message:
        return _Damage("the gzip checksum does not match: the content is altered", unusable=True)
    return _Damage(f"corrupt gzip data ({message})")


def _chunks(path: Path, notes: set[str] | None = None) -> Iterator[bytes]:
    """The file's content (decompressed for .gz) in chunks; raises _Damage where it stops being readable.

    ``notes`` gets "padded" for a .gz with zero padding and "empty" for a file of no bytes (engines read
    neither as they are)."""
    notes = set() if notes is None else notes
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise _Damage(f"cannot be opened: {exc.strerror or exc}", unusable=True) from exc
    with handle:
        try:
            if _is_gzip(path) and path.stat().st_size == 0:
                notes.add("empty")
            elif _is_gzip(path):
                yield from _inflate(handle, notes)
            else:
                while chunk := handle.read(_READ):
                    yield chunk
        except OSError as exc:
            raise _Damage(f"cannot be read: {exc.strerror or exc}") from exc


def _inspect(path: Path) -> tuple[bool, _Damage | None]:
    """Whether the whole file reads, is UTF-8 and has no line over the limit (one pass, no per-line work),
    and the damage that makes it unusable, if any (read to the end even after a bad line to find it)."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    run = 0  # bytes since the last newline
    sound = True
    notes: set[str] = set()
    try:
        for chunk in _chunks(path, notes):
            if not sound:
                continue
            first = chunk.find(b"\n")
            if first < 0:
                run += len(chunk)
            else:
                sound = run + first <= MAX_LINE_BYTES
                run = len(chunk) - chunk.rfind(b"\n") - 1
            sound = sound and run <= MAX_LINE_BYTES
            if sound and not (chunk.isascii() and not decoder.getstate()[0]):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    sound = False
        if sound:
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False, None
    except _Damage as damage:
        return False, damage if damage.unusable else None
    return sound and not notes, None


class _Copy:
    """The clean copy being written: plain, or gzip at level 1 for a .gz source (same name, small)."""

    def __init__(self, target: Path, gz: bool) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        self._out = target.open("wb")
        self._deflater = zlib.compressobj(1, zlib.DEFLATED, _GZIP_WBITS) if gz else None

    def write(self, data: bytes) -> None:
        self._out.write(self._deflater.compress(data) if self._deflater else data)

    def close(self) -> None:
        if self._deflater is not None:
            self._out.write(self._deflater.flush())
        self._out.close()


def _text(line: bytes) -> str:
    return line.decode("utf-8", "backslashreplace")


def _sanitise(path: Path, target: Path, sink: Callable[[BadLine], None]) -> tuple[int, _Damage | None]:
    """Copy the readable, valid lines of ``path`` to ``target``; bad lines go to ``sink``.

    Returns the number of whole lines read (good or bad) and the damage that stopped the reading, if any."""
    name = path.name
    copy = _Copy(target, _is_gzip(path))
    number = 0
    line = bytearray()
    length = 0  # of the current line, counting bytes not kept once it is over the limit

    def finish() -> None:
        nonlocal number, length
        number += 1
        if length > MAX_LINE_BYTES:
            detail = (
                f"line {number}: {length:,} bytes, longer than the {MAX_LINE_BYTES // 2**20} MiB limit; "
                f"the first {KEPT_BYTES:,} bytes are kept"
            )
            sink(BadLine(name, BadLineReason.LINE_TOO_LONG, _text(bytes(line[:KEPT_BYTES])), detail))
        else:
            try:
                bytes(line).decode("utf-8")
            except UnicodeDecodeError as exc:
                detail = f"line {number}: invalid UTF-8 at byte {exc.start + 1:,} ({exc.reason})"
                sink(BadLine(name, BadLineReason.INVALID_UTF8, _text(bytes(line)), detail))
            else:
                copy.write(bytes(line) + b"\n")
        line.clear()
        length = 0

    def take(piece: bytes) -> None:
        nonlocal length
        length += len(piece)
        if len(line) <= MAX_LINE_BYTES:
            line.extend(piece[: MAX_LINE_BYTES + 1 - len(line)])

    damage: _Damage | None = None
    try:
        for chunk in _chunks(path):
            start = 0
            while (end := chunk.find(b"\n", start)) >= 0:
                take(chunk[start:end])
                finish()
                start = end + 1
            take(chunk[start:])
    except _Damage as exc:
        damage = exc
    if length and damage is not None and not damage.unusable:
        detail = f"line {number + 1}: cut short where the file is damaged ({damage.detail})"
        sink(BadLine(name, BadLineReason.TRUNCATED_LINE, _text(bytes(line[:MAX_LINE_BYTES])), detail))
    elif length:
        finish()  # a last line without a newline
    copy.close()
    return number, damage


def check_export(
    export: ExportFiles, work_dir: Path, sink: Callable[[BadLine], None], threads: int
) -> CheckedExport:
    """Check every file of the export; damaged ones are replaced by clean copies under ``work_dir``.

    Bad lines go to ``sink`` (in file order); files set aside whole or in part are returned."""
    files = [(rtype, path) for rtype in RESOURCE_TYPES for path in export.by_type.get(rtype, ())]
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        inspected = list(pool.map(lambda item: _inspect(item[1]), files))
    by_type: dict[str, list[Path]] = {}
    faults: list[FileFault] = []
    for index, ((rtype, path), (sound, fatal)) in enumerate(zip(files, inspected, strict=True)):
        if sound:
            by_type.setdefault(rtype, []).append(path)
            continue
        if fatal is not None:
            faults.append(FileFault(path.name, rtype, BadLineReason.UNREADABLE_FILE, fatal.detail, 0))
            continue
        target = work_dir / "clean" / str(index) / path.name
        lines, damage = _sanitise(path, target, sink)
        if damage is not None and (damage.unusable or lines == 0):
            faults.append(FileFault(path.name, rtype, BadLineReason.UNREADABLE_FILE, damage.detail, 0))
            continue
        if damage is not None:
            detail = f"{damage.detail}; the {lines:,} lines before the damage were read"
            faults.append(FileFault(path.name, rtype, BadLineReason.DAMAGED_FILE, detail, lines))
        by_type.setdefault(rtype, []).append(target)
    checked = replace(export, by_type={t: tuple(ps) for t, ps in by_type.items()})
    return CheckedExport(checked, tuple(faults))
