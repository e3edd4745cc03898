"""The words every presentation uses for the engine's vocabularies: the terminal, markdown, the web pages
and the PDF plan. Keyed by the enums (whose declaration order is their one order, ``.rank``); a test checks
that every table names every member.

Protocol vocabularies are translated where the protocol is spoken, from the same enums: FHIR priorities and
DetectedIssue severities in :mod:`calcinosis.fhir.guidance`, CDS Hooks card indicators in
:mod:`calcinosis.cdshooks.cards`.
"""

from __future__ import annotations

from calcinosis.engine.results import Stance, WorkupStatus
from calcinosis.pack.labels import LabelContext

STANCE_LABEL: dict[Stance, str] = {
    Stance.RECOMMENDED: "Recommended",
    Stance.CONSIDER: "Consider",
    Stance.USE_WITH_CAUTION: "Use with caution",
    Stance.AVOID: "Avoid",
}
STATUS_LABEL: dict[WorkupStatus, str] = {
    WorkupStatus.MISSING: "Missing",
    WorkupStatus.DONE: "Done",
    WorkupStatus.ABNORMAL: "Abnormal",
}
# A work-up item's checkbox in markdown.
STATUS_BOX: dict[WorkupStatus, str] = {
    WorkupStatus.MISSING: "[ ]",
    WorkupStatus.DONE: "[x]",
    WorkupStatus.ABNORMAL: "[!]",
}
CONTEXT_NAMES: dict[LabelContext, str] = {
    LabelContext.PREGNANCY: "Pregnancy",
    LabelContext.LACTATION: "Breastfeeding",
    LabelContext.CHILD: "Child",
    LabelContext.SEVERE_RENAL_IMPAIRMENT: "Severe renal impairment",
}
