"""Dialysis is a treatment that lasts: recorded, it is current unless its own text says it has ended."""

from __future__ import annotations

import pytest

from calcinosis.engine import assess
from calcinosis.engine.facts import build_view
from calcinosis.engine.predicates import evaluate
from calcinosis.pack import load_pack
from calcinosis.patient.models import Case


def on_dialysis(**fields: object) -> bool:
    case = Case.model_validate({"id": "d", "age_years": 60, **fields})
    return evaluate("on-dialysis", build_view(case, load_pack())).holds


@pytest.mark.parametrize(
    "text",
    [
        "on regular haemodialysis for four and a half years",
        "haemodialysis three times weekly",
        "continuous cycling peritoneal dialysis",
    ],
)
def test_dialysis_without_an_end_is_current(text: str) -> None:
    assert on_dialysis(history=[text])


@pytest.mark.parametrize(
    "text",
    [
        "renal replacement therapy for 28 days; independent renal function recovered afterwards",
        "haemodialysis stopped after kidney transplant",
        "previously on peritoneal dialysis",
    ],
)
def test_dialysis_whose_text_says_it_ended_is_not_current(text: str) -> None:
    assert not on_dialysis(history=[text])
    assert not on_dialysis(conditions=[text])


def test_an_ended_dialysis_is_reported_and_asks_no_dialysis_adequacy() -> None:
    case = Case.model_validate(
        {
            "id": "src",
            "age_years": 56,
            "sex": "female",
            "conditions": ["systemic sclerosis with scleroderma renal crisis", "calcinosis cutis"],
            "lesions": [{"site": "hands", "description": "calcinosis cutis on radiographs"}],
            "history": ["renal replacement therapy for 28 days; renal function recovered afterwards"],
        }
    )
    a = assess(case)
    assert "dialysis-adequacy" not in {w.id for w in a.workup}
    assert any("dialysis that has ended ('recovered')" in i.message for i in a.input_issues)
