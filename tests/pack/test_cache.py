"""The validated cache of built data (:mod:`calcinosis.datacache`): used only when its key matches, rebuilt
when a file or the code changes, never trusted when damaged or keyed otherwise."""

from __future__ import annotations

import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from calcinosis import datacache
from calcinosis.pack import KnowledgePack, load_pack
from calcinosis.pack.loader import default_pack_dir, pack_files


class Built:
    def __init__(self, text: str) -> None:
        self.text = text


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv(datacache.ENV, str(where))
    return where


def build_counter(src: Path, calls: list[str]) -> Callable[[], Built]:
    def build() -> Built:
        calls.append("built")
        return Built(src.read_text())

    return build


def test_a_second_load_comes_from_the_cache_and_a_changed_file_rebuilds_it(
    folder: Path, tmp_path: Path
) -> None:
    src = tmp_path / "data.yaml"
    src.write_text("one")
    calls: list[str] = []
    build = build_counter(src, calls)
    assert datacache.cached("thing", [src], [], build, Built).text == "one"
    assert datacache.cached("thing", [src], [], build, Built).text == "one"
    assert calls == ["built"]
    src.write_text("two")
    assert datacache.cached("thing", [src], [], build, Built).text == "two"
    assert calls == ["built", "built"]
    assert len(list(folder.glob("thing-*.pickle"))) == 1  # the stale file was removed


def test_changed_code_rebuilds_even_when_the_data_is_the_same(folder: Path, tmp_path: Path) -> None:
    src, code = tmp_path / "data.yaml", tmp_path / "loader.py"
    src.write_text("one")
    code.write_text("VERSION = 1\n")
    calls: list[str] = []
    build = build_counter(src, calls)
    datacache.cached("thing", [src], [code], build, Built)
    code.write_text("VERSION = 2\n")
    datacache.cached("thing", [src], [code], build, Built)
    assert calls == ["built", "built"]


def test_a_damaged_or_foreign_cache_file_is_never_used(folder: Path, tmp_path: Path) -> None:
    src = tmp_path / "data.yaml"
    src.write_text("one")
    calls: list[str] = []
    build = build_counter(src, calls)
    datacache.cached("thing", [src], [], build, Built)
    (path,) = folder.glob("thing-*.pickle")
    path.write_bytes(path.read_bytes()[:-10])  # truncated
    assert datacache.cached("thing", [src], [], build, Built).text == "one"
    assert calls == ["built", "built"]
    # A file under the right name whose recorded key is another's (or that holds another type).
    key = datacache.cache_key("thing", [src], [])
    foreign = datacache.FORMAT + b"0" * 64 + b"\n" + pickle.dumps(Built("forged"))
    path.write_bytes(foreign)
    assert datacache.cached("thing", [src], [], build, Built).text == "one"
    path.write_bytes(datacache.FORMAT + key.encode() + b"\n" + pickle.dumps("a string"))
    assert datacache.cached("thing", [src], [], build, Built).text == "one"
    assert calls == ["built"] * 4


def test_off_and_unwritable_directories_just_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "data.yaml"
    src.write_text("one")
    calls: list[str] = []
    build = build_counter(src, calls)
    monkeypatch.setenv(datacache.ENV, "off")
    assert datacache.cache_dir() is None
    datacache.cached("thing", [src], [], build, Built)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv(datacache.ENV, str(blocker / "cache"))
    assert datacache.cached("thing", [src], [], build, Built).text == "one"
    assert calls == ["built", "built"]


def test_the_cached_pack_equals_the_validated_pack_and_follows_an_edited_copy(
    folder: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "pack"
    shutil.copytree(default_pack_dir(), copy)

    def load() -> KnowledgePack:
        return datacache.cached("pack", pack_files(copy), [], lambda: load_pack(copy), KnowledgePack)

    first = load()
    assert load() == first == load_pack(copy)
    meta = copy / "pack.yaml"
    meta.write_text(meta.read_text().replace("version:", "version: 9.9.9 #", 1))
    edited = load()
    assert edited.meta.version == "9.9.9" != first.meta.version
    assert edited.content_hash != first.content_hash
    assert len(os.listdir(folder)) == 1  # the first pack's cache was replaced
