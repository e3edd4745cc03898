"""A throwaway PostgreSQL cluster on loopback (scripts/postgres-cluster.sh), or the server named by
CALCINOSIS_TEST_POSTGRES_URL."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.servicekit.server import free_port

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "postgres-cluster.sh"


def skip_reason() -> str | None:
    """Why PostgreSQL tests cannot run here, or None when they can."""
    if os.environ.get("CALCINOSIS_TEST_POSTGRES_URL"):
        return None
    have = (
        any(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if Path("/usr/lib/postgresql").exists()
        else False
    )
    if have:
        return None
    if os.geteuid() == 0:
        return None  # as root (CI) the cluster script must work; let it fail loudly rather than skip
    return "no PostgreSQL binaries and not root: run `make system-deps` or set CALCINOSIS_TEST_POSTGRES_URL"


@contextmanager
def postgres_cluster() -> Iterator[str]:
    url = os.environ.get("CALCINOSIS_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    out = subprocess.run(
        ["bash", str(SCRIPT), "start", str(free_port())],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.split()
    directory, url = out[0], out[1]
    try:
        yield url
    finally:
        subprocess.run(
            ["bash", str(SCRIPT), "stop", directory], check=False, capture_output=True, timeout=120
        )
        if Path(directory).exists():
            shutil.rmtree(directory, ignore_errors=True)


def own_skip_reason() -> str | None:
    """Why a cluster of our own cannot be started here, or None when it can."""
    if any(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or os.geteuid() == 0:
        return None
    return "no PostgreSQL binaries and not root: run `make system-deps`"


class Cluster:
    """A throwaway cluster this test owns, so that it can be stopped and started again (an outage)."""

    def __init__(self, directory: str, url: str) -> None:
        self.directory = directory
        self.url = url

    def _run(self, action: str) -> None:
        subprocess.run(
            ["bash", str(SCRIPT), action, self.directory], check=True, capture_output=True, timeout=120
        )

    def halt(self) -> None:
        self._run("halt")

    def resume(self) -> None:
        self._run("resume")


@contextmanager
def own_cluster() -> Iterator[Cluster]:
    """A cluster of our own (never CALCINOSIS_TEST_POSTGRES_URL's server: it is not ours to stop)."""
    out = subprocess.run(
        ["bash", str(SCRIPT), "start", str(free_port())],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.split()
    cluster = Cluster(out[0], out[1])
    try:
        yield cluster
    finally:
        subprocess.run(
            ["bash", str(SCRIPT), "stop", cluster.directory], check=False, capture_output=True, timeout=120
        )
        if Path(cluster.directory).exists():
            shutil.rmtree(cluster.directory, ignore_errors=True)
