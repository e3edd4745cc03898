"""The services we offer and the discovery document (``GET {base}/cds-services``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from calcinosis.cdshooks.models import Discovery, ServiceDescriptor
from calcinosis.cdshooks.prefetch import prefetch_templates
from calcinosis.errors import NotFoundError

EXT_ATTRIBUTES = "org.calcinosis-cds.source-attributes"

USAGE = (
    "For health professionals caring for patients with calcinosis cutis or at risk of it. Decision support "
    "only: each card shows its basis (facts used, missing inputs, grade, sources) for independent review. "
    "Needs the patient, conditions, lab observations and medication requests, prefetched or readable "
    "through fhirServer."
)


@dataclass(frozen=True)
class ServiceSpec:
    id: str
    hook: Literal["patient-view", "order-select", "order-sign"]
    title: str
    description: str

    @property
    def orders(self) -> bool:
        return self.hook != "patient-view"


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        id="calcinosis-patient-view",
        hook="patient-view",
        title="Calcinosis cutis: subtype, work-up and graded treatment options",
        description=(
            "When the chart opens for a patient with calcinosis cutis or a strong risk context (for example "
            "a high calcium-phosphate product in kidney disease), shows the likely subtype, the work-up "
            "still missing and the leading treatment options with their evidence level and sources."
        ),
    ),
    ServiceSpec(
        id="calcinosis-order-select",
        hook="order-select",
        title="Calcinosis cutis: check a medication being selected",
        description=(
            "Warns when a medication being ordered conflicts with the patient's calcinosis assessment "
            "(alerts and cautions of the knowledge pack, evaluated with the draft order added)."
        ),
    ),
    ServiceSpec(
        id="calcinosis-order-sign",
        hook="order-sign",
        title="Calcinosis cutis: check medications before signing",
        description=(
            "Last check before signing: warns when a draft medication order conflicts with the patient's "
            "calcinosis assessment, and offers to remove the draft order."
        ),
    ),
)
BY_ID = {s.id: s for s in SERVICES}


def service(service_id: str) -> ServiceSpec:
    found = BY_ID.get(service_id)
    if found is None:
        raise NotFoundError(f"no CDS service '{service_id}'")
    return found


def discovery(base_url: str) -> Discovery:
    templates = prefetch_templates()
    return Discovery(
        services=[
            ServiceDescriptor(
                hook=s.hook,
                title=s.title,
                description=s.description,
                id=s.id,
                prefetch=dict(templates),
                usageRequirements=USAGE,
                extension={EXT_ATTRIBUTES: f"{base_url}/cds-services/{s.id}/source-attributes"},
            )
            for s in SERVICES
        ]
    )
