"""Property-based fuzzing of every documented endpoint from the OpenAPI schema (schemathesis): valid and
invalid inputs alike, the service never answers with a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.schemas import BaseOpenAPISchema

from tests.servicekit.server import LiveServer

EXAMPLES = 40

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
