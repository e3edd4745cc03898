"""Hand-made corpus files for the validation tests (written to a temporary directory)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ROOT / "tests" / "validation" / "published-cases"


def entry(case_id: str, **expectation: Any) -> dict[str, Any]:
    """A valid corpus entry: a lcSSc patient with fingertip deposits and normal mineral labs."""
    exp: dict[str, Any] = {
        "written": "2026-12-05",
        "basis": "hand-made test case",
        "subtype": "dystrophic",
        "variant": None,
        "must_include": [],
        "must_avoid": [],
        "top_option": [],
        "workup_missing": [],
        "workup_not": [],
        "disagreement": None,
    }
    exp.update(expectation)
    return {
        "id": case_id,
        "report": {
            "citation": "Hand-made test patient (no publication)",
            "identifiers": {"url": "https://example.invalid/test-case"},
            "kind": "case-report",
            "patient_in_report": "the patient",
            "facts_seen": "Made up for a unit test of the validator.",
        },
        "expectation": exp,
        "case": {
            "id": case_id,
            "age_years": 54,
            "sex": "female",
            "conditions": [{"text": "limited cutaneous systemic sclerosis"}, {"text": "calcinosis cutis"}],
            "labs": [
                {"analyte": "calcium", "value": 9.3, "unit": "mg/dL"},
                {"analyte": "phosphate", "value": 3.4, "unit": "mg/dL"},
            ],
            "lesions": [{"site": "right index fingertip", "features": ["painful", "ulcerated"]}],
        },
    }


def write(directory: Path, data: dict[str, Any], name: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name or data['id']}.yaml"
    path.write_text(
        yaml.safe_dump(copy.deepcopy(data), sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    return path
