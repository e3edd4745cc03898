"""A validated on-disk cache of data built from shipped files (the knowledge pack, the vocabularies).

Building the pack means parsing about fifty YAML files and validating every record; a short command such as
``calcinosis assess`` would spend most of its time on it. :func:`cached` keeps the built object in a pickle
in the user cache directory, keyed by a SHA-256 of everything it was built from:

- the bytes and names of every input file,
- the source of the code that builds and defines it (a changed model or loader rebuilds the cache even
  when the version string has not moved),
- the package version, the Python version and the pydantic version.

The key is the file's name and is written again inside the file; a file whose key differs, that cannot be
read, or that does not unpickle is never used: the object is built from the files instead (and the cache
rewritten). Writes are atomic (a temporary file renamed into place), so concurrent processes never read a
half-written cache. ``CALCINOSIS_CACHE_DIR`` names the directory; ``off`` (or an empty value) turns the
cache off. A directory that cannot be written simply means no cache.

The cache directory holds pickles, so it must be writable only by the user running the service (it is
created with mode 0700), as with any code or configuration of that user.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

FORMAT = b"calcinosis-datacache/1\n"
ENV = "CALCINOSIS_CACHE_DIR"


class Readable(Protocol):
    """A ``Path`` or an ``importlib.resources`` Traversable."""

    @property
    def name(self) -> str: ...

    def read_bytes(self) -> bytes: ...


def cache_dir() -> Path | None:
    """Where caches live, or None when turned off."""
    chosen = os.environ.get(ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "no", "false") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "calcinosis-cds"


def _versions() -> str:
    """calcinosis, Python and pydantic versions (read from the modules: importlib.metadata is slow to import)."""
    import pydantic_core
    from pydantic.version import VERSION

    from calcinosis import __version__

    return f"{__version__}|{sys.version}|{VERSION}|{pydantic_core.__version__}"


def cache_key(name: str, inputs: Iterable[Readable], code: Iterable[Readable]) -> str:
    digest = hashlib.sha256(FORMAT + name.encode() + b"\0")
    digest.update(_versions().encode())
    for label, files in (("in", inputs), ("code", code)):
        for f in files:
            data = f.read_bytes()
            digest.update(f"\0{label}:{f.name}:{len(data)}\0".encode() + data)
    return digest.hexdigest()


def _read(path: Path, key: str) -> object | None:
    collecting = gc.isenabled()
    try:
        with path.open("rb") as fh:
            head = fh.read(len(FORMAT) + len(key) + 1)
            if head != FORMAT + key.encode() + b"\n":
                return None
            gc.disable()  # thousands of new objects, none of them garbage: no collection passes meanwhile
            value: object = pickle.load(fh)  # noqa: S301 - our own file in the user's 0700 cache dir, key checked
    except Exception:  # a cache that cannot be used is rebuilt, whatever went wrong
        return None
    finally:
        if collecting:
            gc.enable()
    return value


def _write(folder: Path, path: Path, key: str, value: object) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(FORMAT + key.encode() + b"\n" + body)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        stem = path.name.rsplit("-", 1)[0]
        for old in folder.glob(f"{stem}-*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)
    except (OSError, pickle.PicklingError, TypeError, AttributeError, RecursionError):
        return  # no cache this time; the object is still returned


def cached(
    name: str,
    inputs: Iterable[Readable],
    code: Iterable[Readable],
    build: Callable[[], T],
    expect: type[T],
) -> T:
    """The object ``build()`` makes from ``inputs``, from the cache when its key matches."""
    folder = cache_dir()
    if folder is None:
        return build()
    inputs, code = list(inputs), list(code)
    key = cache_key(name, inputs, code)
    path = folder / f"{name}-{key[:32]}.pickle"
    found = _read(path, key)
    if isinstance(found, expect):
        return found
    value = build()
    _write(folder, path, key, value)
    return value


def safe_yaml(text: str) -> Any:
    """YAML parsed by the safe loader (libyaml's when available). PyYAML is imported here, when a cache is
    built, so that a process served from the cache never imports it. Raises yaml.YAMLError."""
    import yaml

    loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader


def package_code(anchor: str) -> list[Path]:
    """The ``.py`` files beside ``anchor`` (a module's ``__file__``): the code of its package, for a key."""
    return sorted(Path(anchor).parent.glob("*.py"))
