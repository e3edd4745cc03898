"""CDS Hooks 2.0 wire shapes (requests in, cards/discovery/feedback out).

Output models serialise with ``exclude_none``: the spec forbids null and empty values, so optional fields
without a value are omitted (the one exception, ``"cards": []``, is kept by :class:`CdsResponse`).
Inputs accept unknown fields (3.0 additions such as ``hookVersion`` must not fail a call).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
FhirId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-\.]{1,64}$")]


def prune(value: Any) -> Any:
    """Drop null and empty values recursively (the spec forbids ``null``, ``""``, ``[]`` and ``{}``)."""
    if isinstance(value, dict):
        items = ((k, prune(v)) for k, v in value.items())
        return {k: v for k, v in items if v not in (None, "", [], {})}
    if isinstance(value, list | tuple):
        return [v for v in (prune(x) for x in value) if v not in (None, "", [], {})]
    return value


class In(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


# ----------------------------------------------------------------------------- request
class FhirAuthorization(In):
    access_token: NonEmpty
    token_type: Literal["Bearer"]
    expires_in: int = Field(ge=0)
    scope: NonEmpty
    subject: NonEmpty
    patient: str | None = None

    def __repr__(self) -> str:  # never show the token, even in debug output
        return f"FhirAuthorization(subject={self.subject!r}, scope={self.scope!r})"

    __str__ = __repr__


class HookRequest(In):
    """A CDS Service call (``POST {base}/cds-services/{id}``)."""

    hook: NonEmpty
    hookInstance: NonEmpty
    fhirServer: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2048)] | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _server_with_token(self) -> HookRequest:
        if self.fhirAuthorization is not None and self.fhirServer is None:
            raise ValueError("fhirServer is required when fhirAuthorization is given (cds-r-1)")
        return self


class PatientContext(In):
    userId: NonEmpty
    patientId: FhirId
    encounterId: str | None = None


class OrderContext(PatientContext):
    """``order-sign`` context."""

    draftOrders: dict[str, Any]


class OrderSelectContext(OrderContext):
    """``order-select`` context: the ids of the orders just selected are required too."""

    selections: Annotated[list[NonEmpty], Field(min_length=1)]


# ----------------------------------------------------------------------------- response
class Coding(Out):
    system: str | None = None
    code: str
    display: str | None = None


class Source(Out):
    label: str
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None


class Action(Out):
    type: Literal["create", "update", "delete"]
    description: str
    resource: dict[str, Any] | None = None
    resourceId: str | None = None


class Suggestion(Out):
    label: str
    uuid: str | None = None
    isRecommended: bool | None = None
    actions: list[Action] | None = None


class Link(Out):
    label: str
    url: str
    type: Literal["absolute", "smart"]
    appContext: str | None = None


class Card(Out):
    uuid: str | None = None
    summary: Annotated[str, StringConstraints(min_length=1, max_length=139)]
    detail: str | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[Suggestion] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[Coding] | None = None
    links: list[Link] | None = None
    extension: dict[str, Any] | None = None


class CdsResponse(Out):
    cards: list[Card]
    systemActions: list[Action] | None = None

    def wire(self) -> dict[str, Any]:
        body = super().wire()
        body.setdefault("cards", [])
        return body


class ServiceDescriptor(Out):
    hook: str
    title: str
    description: str
    id: str
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None
    extension: dict[str, Any] | None = None


class Discovery(Out):
    services: list[ServiceDescriptor]


# ----------------------------------------------------------------------------- feedback
class AcceptedSuggestion(In):
    id: NonEmpty


class FeedbackCoding(In):
    code: NonEmpty
    system: str | None = None
    display: str | None = None


class OverrideReason(In):
    reason: FeedbackCoding | None = None
    userComment: Annotated[str, StringConstraints(max_length=4096)] | None = None

    @model_validator(mode="after")
    def _something(self) -> OverrideReason:
        if self.reason is None and not self.userComment:
            raise ValueError("overrideReason needs a reason or a userComment (cds-fb-3)")
        return self


class FeedbackItem(In):
    card: NonEmpty
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = None
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: datetime

    @model_validator(mode="after")
    def _accepted(self) -> FeedbackItem:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("an accepted outcome needs acceptedSuggestions (cds-fb-2)")
        if self.outcomeTimestamp.tzinfo is None:
            raise ValueError("outcomeTimestamp must carry a time zone (UTC)")
        return self


class FeedbackRequest(In):
    feedback: Annotated[list[FeedbackItem], Field(min_length=1, max_length=500)]
