"""Property-based fuzzing of every documented endpoint from the OpenAPI schema (schemathesis): valid and
invalid inputs alike, one call at a time and in stateful sequences that follow the schema's OpenAPI links;
the service never answers with a 5xx."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.schemas import BaseOpenAPISchema

from tests.servicekit import fhirdata as F
from tests.servicekit.server import LiveServer

EXAMPLES = 40
STATEFUL_EXAMPLES = 60

schemathesis.experimental.OPEN_API_3_1.enable()  # FastAPI publishes OpenAPI 3.1


@pytest.fixture(scope="module")
def api_schema(server: LiveServer) -> BaseOpenAPISchema:
    loaded: BaseOpenAPISchema = schemathesis.from_uri(
        f"{server.url}/openapi.json",
        base_url=server.url,
        data_generation_methods=[
            schemathesis.DataGenerationMethod.positive,
            schemathesis.DataGenerationMethod.negative,
        ],
    )
    return loaded


schema = schemathesis.from_pytest_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_endpoint_answers_with_a_server_error_when_fuzzed(case: schemathesis.Case) -> None:
    response = case.call(timeout=30)
    case.validate_response(response, checks=(not_a_server_error,))


# ----------------------------------------------------------------------------- stateful sequences
# The API declares OpenAPI links for what a client does next with an answer: discovery -> call the first
# service; a service call -> feedback on its first card (by the card's uuid) and the feedback summary; the
# therapy list -> one therapy. Schemathesis follows them as a state machine.
CALL = "POST /cds-services/{service_id}"
FEEDBACK = "POST /cds-services/{service_id}/feedback"


def _link_only_feedback(operation: Any) -> Any:
    """Feedback after a call is what the link says (the first card's uuid): bodies generated from the
    schema are so large (extra keys are allowed) that Hypothesis runs out of room within a sequence and
    never sends one. The stateless run above fuzzes feedback bodies in full."""
    return st.builds(
        lambda: operation.make_case(
            path_parameters={"service_id": "calcinosis-patient-view"},
            body={"feedback": []},
            media_type="application/json",
        )
    )


def _realistic_call() -> dict[str, Any]:
    """A plausible patient-view request (the service the discovery link names first): generated bodies
    alone almost never describe a patient with calcinosis, and without a card the feedback link has no card
    uuid to carry."""
    return {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/dr-1", "patientId": "pt-calciphylaxis"},
        "prefetch": F.prefetch(F.calciphylaxis_on_dialysis()),
    }


def before_generate_case(context: Any, strategy: Any) -> Any:
    """Half of the service calls carry a plausible patient, half are as generated."""
    if context.operation is not None and context.operation.verbose_name == FEEDBACK:
        return _link_only_feedback(context.operation)
    if context.operation is None or context.operation.verbose_name != CALL:
        return strategy
    real = _realistic_call()

    def maybe_real(case: schemathesis.Case) -> Any:
        def apply(plausible: bool) -> schemathesis.Case:
            if plausible:
                case.body = real
            return case

        return st.booleans().map(apply)

    return strategy.flatmap(maybe_real)


@pytest.fixture(scope="module")
def roomy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server whose CDS budget leaves room on a busy machine: the sequences must reach a real card to
    follow the call -> feedback link (a budget overrun answers with a card that is not recorded)."""
    with LiveServer(
        tmp_path_factory.mktemp("stateful"), args=["--demo"], env={"CALCINOSIS_TIME_BUDGET_MS": "5000"}
    ) as live:
        yield live


def test_stateful_sequences_never_answer_with_a_server_error(roomy_server: LiveServer) -> None:
    server = roomy_server
    schema = schemathesis.from_uri(  # positive only: an operation without inputs has no negative case
        f"{server.url}/openapi.json",
        base_url=server.url,
        data_generation_methods=[schemathesis.DataGenerationMethod.positive],
    )
    schema.hook(before_generate_case)

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def validate_response(
            self,
            response: Any,
            case: schemathesis.Case,
            additional_checks: Any = (),  # noqa: ARG002
        ) -> None:
            case.validate_response(response, checks=(not_a_server_error,))

        def _add_results_to_targets(self, targets: Any, results: Any) -> None:  # noqa: ARG002
            # Hypothesis renamed the hook schemathesis 3 overrides (_add_result_to_targets): without this,
            # every answer lands in a catch-all bundle and no link is ever followed.
            for result in results:
                target = self._get_target_for_result(result) if result is not None else None
                if target is not None:
                    super()._add_results_to_targets((target,), [result])

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=10,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )


def _resolve(expression: Any, request_path: dict[str, str], response: Any) -> Any:
    """Evaluate an OpenAPI link runtime expression ($request.path.x, $response.body#/json/pointer)."""
    if isinstance(expression, dict):
        return {k: _resolve(v, request_path, response) for k, v in expression.items()}
    if isinstance(expression, list):
        return [_resolve(v, request_path, response) for v in expression]
    if not isinstance(expression, str) or not expression.startswith("$"):
        return expression
    if expression.startswith("$request.path."):
        return request_path[expression.removeprefix("$request.path.")]
    pointer = expression.removeprefix("$response.body#")
    value = response
    for part in pointer.strip("/").split("/"):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def test_the_declared_links_lead_from_discovery_to_feedback_on_an_issued_card(
    roomy_server: LiveServer,
) -> None:
    """The links the stateful run follows, replayed by hand: discovery -> first service -> feedback on the
    first card, whose uuid the service recorded as issued."""
    import httpx

    server = roomy_server
    spec = httpx.get(f"{server.url}/openapi.json", timeout=30).json()
    ops = {
        op["operationId"]: (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
    }
    _, _, discovery_op = (
        ops["cds_discovery"]
        if "cds_discovery" in ops
        else next(v for v in ops.values() if v[0] == "/cds-services" and v[1] == "get")
    )
    discovery = httpx.get(f"{server.url}/cds-services", timeout=30).json()
    call_link = discovery_op["responses"]["200"]["links"]["CallFirstService"]
    service_id = _resolve(call_link["parameters"]["service_id"], {}, discovery)
    call_path, _, call_op = ops[call_link["operationId"]]
    cards = httpx.post(
        f"{server.url}{call_path.replace('{service_id}', service_id)}", json=_realistic_call(), timeout=60
    ).json()
    assert cards["cards"], "a plausible patient gets cards"
    feedback_link = call_op["responses"]["200"]["links"]["FeedbackOnFirstCard"]
    feedback_path, _, _ = ops[feedback_link["operationId"]]
    body = _resolve(feedback_link["requestBody"], {"service_id": service_id}, cards)
    params = _resolve(feedback_link["parameters"], {"service_id": service_id}, cards)
    answer = httpx.post(
        f"{server.url}{feedback_path.replace('{service_id}', params['service_id'])}", json=body, timeout=30
    )
    assert answer.status_code == 200, answer.text
    with sqlite3.connect(server.db_path) as conn:
        [(linked,)] = conn.execute(
            "SELECT COUNT(*) FROM feedback f JOIN issued_card c ON c.uuid = f.card_uuid"
        ).fetchall()
    assert linked > 0
