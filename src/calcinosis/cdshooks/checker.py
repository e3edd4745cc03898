"""``calcinosis cds-hooks check URL``: drive any CDS Hooks service and check what it returns.

Steps: discovery; each service of a hook we know (patient-view, order-select, order-sign) called with
a synthetic patient that satisfies every prefetch template; feedback on the first card with a uuid; and
two requests that must be refused with a 4xx (unknown service, malformed body). When an issuer and a
private JWK are given, every call carries a JWT signed as the spec describes (``aud`` = URL called).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import orjson

from calcinosis.cdshooks.conformance import (
    Violation,
    check_discovery,
    check_feedback,
    check_request,
    check_response,
)

PATIENT = "conformance-patient"
KNOWN_HOOKS = ("patient-view", "order-select", "order-sign")
TokenFactory = Callable[[str], str]


@dataclass
class Step:
    name: str
    status: int | None = None
    violations: list[Violation] = field(default_factory=list)
    note: str | None = None

    @property
    def ok(self) -> bool:
        return not any(v.level == "error" for v in self.violations)


@dataclass
class CheckReport:
    base_url: str
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)


def jwt_signer(issuer: str, private_jwk: dict[str, Any], lifetime_s: int = 300) -> TokenFactory:
    """Tokens as a CDS client signs them: header alg/kid/typ, claims iss/aud/exp/iat/jti."""
    key = jwt.PyJWK(private_jwk)
    alg = private_jwk.get("alg") or ("ES384" if private_jwk.get("kty") == "EC" else "RS384")

    def sign(audience: str) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience,
            "iat": now,
            "exp": now + lifetime_s,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(
            claims, key.key, algorithm=alg, headers={"kid": private_jwk.get("kid"), "typ": "JWT"}
        )

    return sign


def synthetic_resource(template: str) -> Any:
    """A small patient answering one prefetch template (null when we have nothing of that type)."""
    rtype = template.split("?")[0].split("/")[0]
    ref = {"reference": f"Patient/{PATIENT}"}
    resources: dict[str, list[dict[str, Any]]] = {
        "Condition": [
            {
                "resourceType": "Condition",
                "id": "c1",
                "subject": ref,
                "code": {"text": "Calcinosis cutis"},
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active",
                        }
                    ]
                },
            },
            {
                "resourceType": "Condition",
                "id": "c2",
                "subject": ref,
                "code": {"text": "Systemic sclerosis"},
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active",
                        }
                    ]
                },
            },
        ],
    }
    if rtype == "Patient" and "?" not in template:
        return {"resourceType": "Patient", "id": PATIENT, "gender": "female", "birthDate": "1970-01-01"}
    entries = resources.get(rtype)
    if not entries:
        return None
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": e} for e in entries]}


def synthetic_request(service: dict[str, Any]) -> dict[str, Any]:
    hook = service["hook"]
    context: dict[str, Any] = {"userId": "Practitioner/conformance", "patientId": PATIENT}
    if hook != "patient-view":
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {
                    "resource": {
                        "resourceType": "MedicationRequest",
                        "id": "draft-1",
                        "status": "draft",
                        "intent": "order",
                        "subject": {"reference": f"Patient/{PATIENT}"},
                        "medicationCodeableConcept": {"text": "Warfarin"},
                    }
                }
            ],
        }
        if hook == "order-select":
            context["selections"] = ["MedicationRequest/draft-1"]
    body: dict[str, Any] = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context}
    prefetch = {k: synthetic_resource(t) for k, t in (service.get("prefetch") or {}).items()}
    if prefetch:
        body["prefetch"] = prefetch
    return body


def run_check(base_url: str, client: httpx.Client, sign: TokenFactory | None = None) -> CheckReport:
    base = base_url.rstrip("/")
    report = CheckReport(base)

    def send(method: str, url: str, body: Any = None, raw: bytes | None = None) -> httpx.Response:
        headers = {"Accept": "application/json"}
        if sign is not None:
            headers["Authorization"] = f"Bearer {sign(url)}"
        if body is not None or raw is not None:
            headers["Content-Type"] = "application/json"
        content = raw if raw is not None else (orjson.dumps(body) if body is not None else None)
        return client.request(method, url, content=content, headers=headers)

    step = Step("discovery")
    report.steps.append(step)
    response = send("GET", f"{base}/cds-services")
    step.status = response.status_code
    doc = _json(response, step)
    if response.status_code != 200 or doc is None:
        step.violations.append(
            Violation("$", "discovery", f"expected 200 with JSON, got {response.status_code}")
        )
        return report
    step.violations.extend(check_discovery(doc))
    services = [s for s in doc.get("services", []) if isinstance(s, dict) and s.get("hook") in KNOWN_HOOKS]
    card_for_feedback: tuple[str, dict[str, Any]] | None = None
    for svc in services:
        step = Step(f"call {svc.get('id')} ({svc.get('hook')})")
        report.steps.append(step)
        request = synthetic_request(svc)
        step.violations.extend(v for v in check_request(request) if v.level == "error")
        response = send("POST", f"{base}/cds-services/{svc['id']}", request)
        step.status = response.status_code
        body = _json(response, step)
        if response.status_code != 200 or body is None:
            step.violations.append(
                Violation("$", "service", f"expected 200 with cards, got {response.status_code}")
            )
            continue
        step.violations.extend(check_response(body))
        for card in body.get("cards", []) if isinstance(body.get("cards"), list) else []:
            if card_for_feedback is None and isinstance(card, dict) and isinstance(card.get("uuid"), str):
                card_for_feedback = (str(svc["id"]), card)
    if card_for_feedback is not None:
        report.steps.append(_feedback_step(base, *card_for_feedback, send))
    report.steps.append(
        _refusal_step(
            "unknown service",
            send(
                "POST",
                f"{base}/cds-services/no-such-service-{uuid.uuid4().hex[:8]}",
                {"hook": "patient-view", "hookInstance": str(uuid.uuid4()), "context": {}},
            ),
        )
    )
    if services:
        report.steps.append(
            _refusal_step(
                "malformed body", send("POST", f"{base}/cds-services/{services[0]['id']}", raw=b"{not json")
            )
        )
    return report


def _feedback_step(
    base: str, service_id: str, card: dict[str, Any], send: Callable[..., httpx.Response]
) -> Step:
    step = Step(f"feedback {service_id}")
    item: dict[str, Any] = {
        "card": card["uuid"],
        "outcome": "overridden",
        "outcomeTimestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    reasons = card.get("overrideReasons")
    if isinstance(reasons, list) and reasons and isinstance(reasons[0], dict):
        item["overrideReason"] = {"reason": reasons[0], "userComment": "conformance check"}
    payload = {"feedback": [item]}
    step.violations.extend(check_feedback(payload))
    response = send("POST", f"{base}/cds-services/{service_id}/feedback", payload)
    step.status = response.status_code
    if response.status_code == 404:
        step.note = "no feedback endpoint (optional in CDS Hooks 2.0)"
    elif response.status_code != 200:
        step.violations.append(Violation("$", "feedback", f"expected 200, got {response.status_code}"))
    return step


def _refusal_step(name: str, response: httpx.Response) -> Step:
    step = Step(f"refuses {name}", status=response.status_code)
    if not 400 <= response.status_code < 500:
        step.violations.append(Violation("$", "errors", f"expected a 4xx, got {response.status_code}"))
    return step


def _json(response: httpx.Response, step: Step) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        step.note = "body is not JSON"
        return None
