"""One vocabulary for presentation: stances, severities and levels are enums with one order each (their
declaration order, ``.rank``); every table of words, styles or protocol codes is keyed by the enum and names
every member; no module keeps its own table or comparison over the enums' raw strings. One list of patient
resource types serves the FHIR reader, SMART launches and the screener."""

from __future__ import annotations

import ast
from enum import Enum
from pathlib import Path

import pytest

import calcinosis
from calcinosis.cdshooks import cards
from calcinosis.engine.results import Stance, WorkupStatus
from calcinosis.fhir import guidance
from calcinosis.fhir.bundle import PATIENT_DATA_TYPES
from calcinosis.fhir.facts import READERS
from calcinosis.fhir.resources import PATIENT_RESOURCE_TYPES, SCREENED_TYPES
from calcinosis.pack.labels import LabelContext, LabelSeverity
from calcinosis.pack.models import AlertSeverity, Applicability, CautionSeverity, EvidenceLevel, Ordered
from calcinosis.render import text, vocabulary
from calcinosis.screen.ndjson import RESOURCE_TYPES, SELECTOR_TYPES
from calcinosis.screen.pipeline import NOT_READ
from calcinosis.smart.scopes import searched_types
from calcinosis.web import pdf

SRC = Path(calcinosis.__file__).parent
ORDERED: tuple[type[Ordered], ...] = (
    Stance,
    AlertSeverity,
    CautionSeverity,
    EvidenceLevel,
    Applicability,
    LabelSeverity,
)
TABLES: list[tuple[str, dict[object, object], type[Enum]]] = [
    ("render.vocabulary.STANCE_LABEL", vocabulary.STANCE_LABEL, Stance),
    ("render.vocabulary.STATUS_LABEL", vocabulary.STATUS_LABEL, WorkupStatus),
    ("render.vocabulary.STATUS_BOX", vocabulary.STATUS_BOX, WorkupStatus),
    ("render.vocabulary.CONTEXT_NAMES", vocabulary.CONTEXT_NAMES, LabelContext),
    ("render.text.STANCE_STYLE", text.STANCE_STYLE, Stance),
    ("render.text.ALERT_STYLE", text.ALERT_STYLE, AlertSeverity),
    ("render.text.STATUS_MARK", text.STATUS_MARK, WorkupStatus),
    ("web.pdf.BOX", pdf.BOX, WorkupStatus),
    ("fhir.guidance.PRIORITY", guidance.PRIORITY, Stance),
    ("fhir.guidance.ALERT_SEVERITY", guidance.ALERT_SEVERITY, AlertSeverity),
    ("fhir.guidance.CAUTION_SEVERITY", guidance.CAUTION_SEVERITY, CautionSeverity),
    ("cdshooks.cards.INDICATOR", cards.INDICATOR, AlertSeverity),
]
# Raw strings of the enums that must not be compared or used as keys outside the enums' own modules.
RAW = (
    {s.value for s in Stance} | {"contraindication", "monitor", "critical"} | {s.value for s in WorkupStatus}
)
DEFINED_IN = {"pack/models.py", "pack/labels.py", "engine/results.py"}
# The same strings in another vocabulary: a JSON field name, a protocol's or a chart's own words.
OTHER_VOCABULARIES = {
    ("cdshooks/cards.py", "missing"),  # the basis extension's field naming what was not retrieved
    ("cdshooks/conformance.py", "critical"),  # CDS Hooks card indicators, checked as the spec lists them
    ("fhir/observations.py", "abnormal"),  # an Observation.interpretation word and its HL7 code
    ("screen/charts.py", "critical"),  # the report's colour names
    ("validation/loader.py", "missing"),  # a pydantic error type
}


@pytest.mark.parametrize("kind", ORDERED, ids=[k.__name__ for k in ORDERED])
def test_each_vocabulary_has_one_order_its_declaration(kind: type[Ordered]) -> None:
    members = list(kind)
    assert [m.rank for m in members] == list(range(len(members)))
    rotated = [*members[1:], members[0]]
    assert sorted(rotated, key=lambda m: m.rank) == members


def test_the_orders_read_as_the_clinic_reads_them() -> None:
    assert Stance.RECOMMENDED.rank < Stance.CONSIDER.rank < Stance.USE_WITH_CAUTION.rank < Stance.AVOID.rank
    assert AlertSeverity.CRITICAL.rank < AlertSeverity.WARNING.rank < AlertSeverity.INFO.rank
    assert CautionSeverity.CONTRAINDICATION.rank < CautionSeverity.WARNING.rank < CautionSeverity.INFO.rank
    assert EvidenceLevel.A.rank < EvidenceLevel.E.rank


@pytest.mark.parametrize(("name", "table", "kind"), TABLES, ids=[t[0] for t in TABLES])
def test_every_table_is_keyed_by_its_enum_and_names_every_member(
    name: str, table: dict[object, object], kind: type[Enum]
) -> None:
    assert all(isinstance(k, kind) for k in table), name
    assert set(table) == set(kind), name


def raw_uses(source: str) -> list[str]:
    """Dict keys and comparison operands that are raw enum strings."""
    found = []
    for node in ast.walk(ast.parse(source)):
        candidates: list[ast.expr] = []
        if isinstance(node, ast.Dict):
            candidates = [k for k in node.keys if k is not None]
        elif isinstance(node, ast.Compare):
            for operand in [node.left, *node.comparators]:
                candidates.extend(
                    operand.elts if isinstance(operand, ast.Tuple | ast.Set | ast.List) else [operand]
                )
        found += [
            f"line {c.lineno}: {c.value!r}"
            for c in candidates
            if isinstance(c, ast.Constant) and isinstance(c.value, str) and c.value in RAW
        ]
    return found


def test_no_module_keeps_its_own_table_or_test_over_the_raw_strings() -> None:
    problems = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = str(path.relative_to(SRC))
        if rel in DEFINED_IN:
            continue
        uses = [u for u in raw_uses(path.read_text()) if (rel, u.split("'")[1]) not in OTHER_VOCABULARIES]
        if uses:
            problems[rel] = uses
    assert problems == {}


def test_the_scan_sees_a_string_table_and_a_string_comparison() -> None:
    src = (
        'ORDER = {"avoid": 3}\nif x.severity == "contraindication":\n    pass\nok = s in ("critical", "x")\n'
    )
    assert raw_uses(src) == ["line 1: 'avoid'", "line 2: 'contraindication'", "line 4: 'critical'"]


def test_one_list_of_patient_resource_types_for_reader_smart_and_screener() -> None:
    assert PATIENT_DATA_TYPES == set(PATIENT_RESOURCE_TYPES)
    assert list(READERS) == [t for t in PATIENT_RESOURCE_TYPES if t != "Patient"]
    assert searched_types() == tuple(READERS)
    assert RESOURCE_TYPES == SCREENED_TYPES
    assert [t for t in PATIENT_RESOURCE_TYPES if t in RESOURCE_TYPES] == list(RESOURCE_TYPES)
    assert set(SELECTOR_TYPES) <= set(RESOURCE_TYPES)
    assert set(NOT_READ) == set(RESOURCE_TYPES)
