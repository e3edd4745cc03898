"""Shared fixtures: the bundled pack, the example cases, a frozen reference date."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from calcinosis.pack import KnowledgePack, load_pack_cached

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "examples" / "cases"


def example_cases() -> list[Path]:
    return sorted(CASES.glob("*.json"))


def expectations() -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = yaml.safe_load((CASES / "expected.yaml").read_text())
    return data


def load_case(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CASES / f"{name}.json").read_text())
    return data


@pytest.fixture(scope="session")
def pack() -> KnowledgePack:
    return load_pack_cached()
