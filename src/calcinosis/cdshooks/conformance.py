"""CDS Hooks 2.0 conformance rules as plain functions over JSON (no network): discovery documents,
service requests, service responses and feedback.

Each rule is named: spec section names, plus the invariants the HL7 CDS Hooks logical models ship
(cds-resp-1..7, cds-fb-1..3, cds-r-1..2). ``null``/empty values are checked everywhere except where the
spec allows them (``"cards": []``, a prefetch key set to ``null``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

HOOK_CONTEXT_TOKENS = {
    "patient-view": {"userId", "patientId", "encounterId"},
    "order-select": {"userId", "patientId", "encounterId"},
    "order-sign": {"userId", "patientId", "encounterId"},
    "appointment-book": {"userId", "patientId", "encounterId"},
    "encounter-start": {"userId", "patientId", "encounterId"},
    "encounter-discharge": {"userId", "patientId", "encounterId"},
}
USER_TOKENS = {"userPractitionerId", "userPractitionerRoleId", "userPatientId", "userRelatedPersonId"}
TOKEN = re.compile(r"\{\{\s*([^}]*?)\s*\}\}")
ABSOLUTE = re.compile(r"^https?://\S+$")


@dataclass(frozen=True)
class Violation:
    where: str
    rule: str
    message: str
    level: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        return f"[{self.level}] {self.where}: {self.message} ({self.rule})"


class _Report:
    def __init__(self) -> None:
        self.items: list[Violation] = []

    def error(self, where: str, rule: str, message: str) -> None:
        self.items.append(Violation(where, rule, message))

    def warn(self, where: str, rule: str, message: str) -> None:
        self.items.append(Violation(where, rule, message, "warning"))


def _empty(value: Any) -> bool:
    return value is None or value in ("", [], {})


def _no_empties(value: Any, where: str, r: _Report, allow: frozenset[str] = frozenset()) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            path = f"{where}.{k}"
            if _empty(v) and path not in allow:
                r.error(path, "null-empty", "null or empty value (omit the element instead)")
            _no_empties(v, path, r, allow)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            path = f"{where}[{i}]"
            if _empty(v):
                r.error(path, "null-empty", "null or empty array item")
            _no_empties(v, path, r, allow)


def _string(obj: dict[str, Any], key: str, where: str, r: _Report, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            r.error(f"{where}.{key}", "required", "required string missing")
        return None
    if not isinstance(value, str):
        r.error(f"{where}.{key}", "type", "must be a string")
        return None
    return value


def check_discovery(doc: Any) -> list[Violation]:
    r = _Report()
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), list):
        r.error("$", "discovery", "the response must be an object with a 'services' array")
        return r.items
    _no_empties(doc, "$", r, frozenset({"$.services"}))
    seen: set[tuple[str, str]] = set()
    for i, svc in enumerate(doc["services"]):
        where = f"$.services[{i}]"
        if not isinstance(svc, dict):
            r.error(where, "discovery", "each service must be an object")
            continue
        hook = _string(svc, "hook", where, r)
        _string(svc, "description", where, r)
        sid = _string(svc, "id", where, r)
        if _string(svc, "title", where, r, required=False) is None:
            r.warn(f"{where}.title", "recommended", "title is RECOMMENDED")
        if sid is not None and not re.fullmatch(r"[A-Za-z0-9._~\-]+", sid):
            r.error(f"{where}.id", "discovery", "id must be usable as one URL path segment")
        if sid and hook:
            if (sid, hook) in seen:
                r.error(f"{where}.id", "discovery", "the same id is listed twice for one hook")
            seen.add((sid, hook))
        prefetch = svc.get("prefetch")
        if prefetch is not None:
            _check_prefetch(prefetch, hook, f"{where}.prefetch", r)
    return r.items


def _check_prefetch(prefetch: Any, hook: str | None, where: str, r: _Report) -> None:
    if not isinstance(prefetch, dict):
        r.error(where, "prefetch", "prefetch must be an object of key -> template")
        return
    allowed = HOOK_CONTEXT_TOKENS.get(hook or "")
    for key, template in prefetch.items():
        if not isinstance(template, str):
            r.error(f"{where}.{key}", "prefetch", "a prefetch template must be a string")
            continue
        for token in TOKEN.findall(template):
            if token in USER_TOKENS:
                continue
            name = token.removeprefix("context.")
            if not token.startswith("context.") or "." in name:
                r.error(
                    f"{where}.{key}", "prefetch-token", f"'{{{{{token}}}}}' is not a root-level context field"
                )
            elif allowed is not None and name not in allowed:
                r.warn(f"{where}.{key}", "prefetch-token", f"'{name}' is not a known {hook} context field")


def check_request(doc: Any) -> list[Violation]:
    r = _Report()
    if not isinstance(doc, dict):
        r.error("$", "request", "a request must be a JSON object")
        return r.items
    allow = frozenset(f"$.prefetch.{k}" for k, v in (doc.get("prefetch") or {}).items() if v is None)
    _no_empties(doc, "$", r, allow)
    _string(doc, "hook", "$", r)
    _string(doc, "hookInstance", "$", r)
    if not isinstance(doc.get("context"), dict):
        r.error("$.context", "required", "context object required")
    auth = doc.get("fhirAuthorization")
    if auth is not None:
        if doc.get("fhirServer") is None:
            r.error("$.fhirServer", "cds-r-1", "fhirServer is required when fhirAuthorization is given")
        if not isinstance(auth, dict):
            r.error("$.fhirAuthorization", "type", "must be an object")
        else:
            for key in ("access_token", "token_type", "scope", "subject"):
                _string(auth, key, "$.fhirAuthorization", r)
            if auth.get("token_type") not in (None, "Bearer"):
                r.error("$.fhirAuthorization.token_type", "fhirAuthorization", "token_type must be 'Bearer'")
            if not isinstance(auth.get("expires_in"), int):
                r.error("$.fhirAuthorization.expires_in", "required", "expires_in (integer) required")
            if "patient/" in str(auth.get("scope", "")) and not auth.get("patient"):
                r.warn(
                    "$.fhirAuthorization.patient", "cds-r-2", "patient scopes granted but no patient given"
                )
    server = doc.get("fhirServer")
    if isinstance(server, str) and not server.startswith("https://"):
        r.warn("$.fhirServer", "security", "fhirServer MUST be https when production data is exchanged")
    return r.items


def _check_action(action: Any, where: str, r: _Report) -> None:
    if not isinstance(action, dict):
        r.error(where, "action", "an action must be an object")
        return
    kind = action.get("type")
    if kind not in ("create", "update", "delete"):
        r.error(f"{where}.type", "action", "type must be create, update or delete")
    if not isinstance(action.get("description"), str):
        r.error(f"{where}.description", "cds-resp-5", "every action needs a description")
    if kind == "delete":
        if not isinstance(action.get("resourceId"), str) or "resource" in action:
            r.error(where, "cds-resp-2", "delete needs resourceId and no resource")
    elif kind in ("create", "update") and not isinstance(action.get("resource"), dict):
        r.error(f"{where}.resource", "action", f"{kind} needs the whole resource")


def _check_card(card: Any, where: str, r: _Report) -> None:
    if not isinstance(card, dict):
        r.error(where, "card", "a card must be an object")
        return
    summary = _string(card, "summary", where, r)
    if summary is not None and len(summary) >= 140:
        r.error(f"{where}.summary", "card.summary", f"summary must be under 140 characters ({len(summary)})")
    if card.get("indicator") not in ("info", "warning", "critical"):
        r.error(f"{where}.indicator", "card.indicator", "indicator must be info, warning or critical")
    _string(card, "detail", where, r, required=False)
    _string(card, "uuid", where, r, required=False)
    source = card.get("source")
    if not isinstance(source, dict) or not isinstance(source.get("label"), str):
        r.error(f"{where}.source", "card.source", "source with a label is required")
    else:
        for key in ("url", "icon"):
            if key in source and not ABSOLUTE.match(str(source[key])):
                r.error(f"{where}.source.{key}", "card.source", "must be an absolute URL")
    suggestions = card.get("suggestions")
    behaviour = card.get("selectionBehavior")
    if suggestions is not None and behaviour is None:
        r.error(f"{where}.selectionBehavior", "cds-resp-6", "suggestions need selectionBehavior")
    if behaviour is not None and behaviour not in ("at-most-one", "any"):
        r.error(f"{where}.selectionBehavior", "card.selectionBehavior", "must be at-most-one or any")
    if isinstance(suggestions, list):
        recommended = sum(1 for s in suggestions if isinstance(s, dict) and s.get("isRecommended") is True)
        if behaviour == "at-most-one" and recommended > 1:
            r.error(
                f"{where}.suggestions", "cds-resp-1", "at most one recommended suggestion with at-most-one"
            )
        for j, s in enumerate(suggestions):
            swhere = f"{where}.suggestions[{j}]"
            if not isinstance(s, dict) or not isinstance(s.get("label"), str):
                r.error(swhere, "suggestion", "each suggestion needs a label")
                continue
            asb = s.get("actionSelectionBehavior")
            if asb is not None and asb not in ("all", "any", "at-most-one"):
                r.error(f"{swhere}.actionSelectionBehavior", "cds-resp-7", "must be all, any or at-most-one")
            for k, action in enumerate(s.get("actions") or []):
                _check_action(action, f"{swhere}.actions[{k}]", r)
    for j, reason in enumerate(card.get("overrideReasons") or []):
        if not isinstance(reason, dict) or not isinstance(reason.get("display"), str):
            r.error(f"{where}.overrideReasons[{j}]", "cds-resp-4", "every override reason needs a display")
    for j, link in enumerate(card.get("links") or []):
        lwhere = f"{where}.links[{j}]"
        if not isinstance(link, dict):
            r.error(lwhere, "link", "a link must be an object")
            continue
        _string(link, "label", lwhere, r)
        if not ABSOLUTE.match(str(link.get("url", ""))):
            r.error(f"{lwhere}.url", "link", "url must be absolute")
        if link.get("type") not in ("absolute", "smart"):
            r.error(f"{lwhere}.type", "link", "type must be absolute or smart")
        if "appContext" in link and link.get("type") != "smart":
            r.error(f"{lwhere}.appContext", "cds-resp-3", "appContext only on smart links")


def check_response(doc: Any) -> list[Violation]:
    r = _Report()
    if not isinstance(doc, dict) or not isinstance(doc.get("cards"), list):
        r.error("$", "response", "the response must be an object with a 'cards' array")
        return r.items
    _no_empties(doc, "$", r, frozenset({"$.cards"}))
    for i, card in enumerate(doc["cards"]):
        _check_card(card, f"$.cards[{i}]", r)
    for i, action in enumerate(doc.get("systemActions") or []):
        _check_action(action, f"$.systemActions[{i}]", r)
    return r.items


def check_feedback(doc: Any) -> list[Violation]:
    r = _Report()
    if not isinstance(doc, dict) or not isinstance(doc.get("feedback"), list) or not doc["feedback"]:
        r.error("$", "feedback", "feedback must be an object with a non-empty 'feedback' array")
        return r.items
    _no_empties(doc, "$", r)
    for i, item in enumerate(doc["feedback"]):
        where = f"$.feedback[{i}]"
        if not isinstance(item, dict):
            r.error(where, "feedback", "each feedback item must be an object")
            continue
        _string(item, "card", where, r)
        outcome = item.get("outcome")
        if outcome not in ("accepted", "overridden"):
            r.error(f"{where}.outcome", "cds-fb-1", "outcome must be accepted or overridden")
        accepted = item.get("acceptedSuggestions")
        if outcome == "accepted" and not (
            isinstance(accepted, list)
            and accepted
            and all(isinstance(a, dict) and a.get("id") for a in accepted)
        ):
            r.error(f"{where}.acceptedSuggestions", "cds-fb-2", "accepted needs acceptedSuggestions with ids")
        reason = item.get("overrideReason")
        if reason is not None and not (
            isinstance(reason, dict) and (isinstance(reason.get("reason"), dict) or reason.get("userComment"))
        ):
            r.error(f"{where}.overrideReason", "cds-fb-3", "overrideReason needs a reason or a userComment")
        stamp = _string(item, "outcomeTimestamp", where, r)
        if stamp is not None and not _utc(stamp):
            r.error(f"{where}.outcomeTimestamp", "feedback", "must be an ISO 8601 timestamp in UTC")
    return r.items


def _utc(stamp: str) -> bool:
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return False
    offset = moment.utcoffset()
    return offset is not None and offset.total_seconds() == 0
