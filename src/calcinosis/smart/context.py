"""``appContext``: what a CDS card's ``smart`` link was about, as the EHR hands it back to the launched app.

CDS Hooks 2.0: the EHR passes a card link's ``appContext`` to the SMART app in the token response. Ours is
compact JSON naming the patient and one thing on the result page (a therapy, an alert or a section); the
app checks the patient against the token's and opens the page at that point. Nothing else is read from it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

ANCHORS = {"therapy": "therapy-{}", "alert": "alert-{}"}
SECTIONS = {"subtype": "subtype-title", "workup": "workup-title", "therapies": "therapy-title"}
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class AppContext:
    patient: str | None = None
    focus: str | None = None  # an element id on the result page


def app_context_value(
    patient: str, *, therapy: str | None = None, alert: str | None = None, section: str | None = None
) -> str:
    """The ``appContext`` a card's smart link carries."""
    about = (
        {"therapy": therapy}
        if therapy
        else {"alert": alert}
        if alert
        else {"section": section}
        if section
        else {}
    )
    return json.dumps({"patient": patient, **about}, separators=(",", ":"))


def parse_app_context(value: Any) -> AppContext:
    """Read ``appContext`` leniently: anything unknown or malformed only means no focus."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return AppContext()
    if not isinstance(value, dict):
        return AppContext()
    patient = value.get("patient") if isinstance(value.get("patient"), str) else None
    focus = None
    for kind, template in ANCHORS.items():
        item = value.get(kind)
        if isinstance(item, str) and SLUG.match(item):
            focus = template.format(item)
    section = value.get("section")
    if focus is None and isinstance(section, str):
        focus = SECTIONS.get(section)
    return AppContext(patient, focus)
