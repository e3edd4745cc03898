"""Independent validation of emitted FHIR: the fhir.resources R4B models, and a round trip through them."""

from __future__ import annotations

import importlib
import json
from typing import Any

from pydantic import BaseModel


def r4b_model(resource_type: str) -> type[BaseModel]:
    module = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    model: type[BaseModel] = getattr(module, resource_type)
    return model


def validate_round_trip(resource: dict[str, Any]) -> BaseModel:
    """Parse with the R4B model (raises on invalid FHIR), write back, and require the same JSON."""
    parsed = r4b_model(resource["resourceType"]).model_validate(resource)
    back = json.loads(parsed.model_dump_json())
    assert back == json.loads(json.dumps(resource)), f"{resource['resourceType']} changed on round trip"
    return parsed
