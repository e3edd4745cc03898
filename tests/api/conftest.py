"""A live server for the REST tests (loopback, unsigned, demo patients on)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servicekit.server import LiveServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("api"), args=["--demo"]) as live:
        yield live
