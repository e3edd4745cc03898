"""``--demo``: the example patients, listed and served as native case JSON (for the app page and docs)."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated, Any

import anyio
import orjson
from fastapi import APIRouter, Path

from calcinosis.errors import NotFoundError
from calcinosis.server.state import StateDep

router = APIRouter(prefix="/demo", tags=["demo"])

CaseId = Annotated[str, Path(max_length=100, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]


def find_examples() -> FsPath | None:
    here = FsPath(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "examples" / "cases"
        if candidate.is_dir():
            return candidate
    return None


def demo_cases() -> dict[str, FsPath]:
    where = find_examples()
    return {p.stem: p for p in sorted(where.glob("*.json"))} if where else {}


@router.get("/patients", summary="Example patients (only with --demo)")
async def patients(state: StateDep) -> list[dict[str, str]]:
    return [{"id": k, "href": f"/demo/patients/{k}"} for k in state.demo_cases]


@router.get("/patients/{case_id}", summary="One example patient as native case JSON")
async def patient(case_id: CaseId, state: StateDep) -> Any:
    path = state.demo_cases.get(case_id)
    if path is None:
        raise NotFoundError(f"no demo patient '{case_id}'")
    return orjson.loads(await anyio.Path(path).read_bytes())
