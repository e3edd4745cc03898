"""The native case model at the edge: true/false is never read as a number."""

from __future__ import annotations

from typing import Any

import pytest

from calcinosis.errors import InputError
from calcinosis.patient.case_json import parse_case


@pytest.mark.parametrize(
    "data",
    [
        {"age_years": True},
        {"age": False},
        {"labs": [{"analyte": "calcium", "value": True, "unit": "mg/dL"}]},
        {"lesions": [{"site": "hand", "count": True}]},
        {"measurements": [{"date": "2026-01-01", "pain_vas": True}]},
    ],
)
def test_a_boolean_where_a_number_is_expected_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(InputError, match="a number is expected"):
        parse_case(data)


def test_numbers_given_as_integers_still_read() -> None:
    case, issues = parse_case({"age": 5, "lesions": [{"site": "hand", "count": 2}]})
    assert case.age_years == 5.0 and case.lesions[0].count == 2 and not issues
