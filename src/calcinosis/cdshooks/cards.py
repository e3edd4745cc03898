"""Assessment -> CDS Hooks cards for ``patient-view``.

Cards (in this order): one per warning/critical alert; when the record holds calcinosis, one for the
subtype call with the work-up still missing and one per leading treatment option (recommended or to
consider), each with its grade. Indicators:
``critical`` only for a critical alert (contraindications, suspected calciphylaxis) or a calciphylaxis call;
``warning`` for warning alerts; ``info`` otherwise. Every card carries its basis in ``detail``, the grade
in a namespaced extension, the pack version and review date, a link to the app's patient page and, when SMART
launch is set up, a ``smart`` link whose ``appContext`` names the patient and what the card is about.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from calcinosis.cdshooks import detail as md
from calcinosis.cdshooks.models import Card, Coding, Link, Source, prune
from calcinosis.engine.results import Alert, Assessment, KnowledgeInfo, Stance, TherapyOption, WorkupStatus
from calcinosis.pack.models import AlertSeverity, SubtypeCode
from calcinosis.smart.context import app_context_value
from calcinosis.store.records import IssuedCard

EXT_GRADE = "org.calcinosis-cds.grade"
EXT_KNOWLEDGE = "org.calcinosis-cds.knowledge"
EXT_BASIS = "org.calcinosis-cds.basis"
OVERRIDE_SYSTEM = "urn:calcinosis-cds:override-reason"
TOPIC_SYSTEM = "urn:calcinosis-cds:topic"
OVERRIDE_REASONS = (
    ("not-applicable", "Not applicable to this patient"),
    ("already-addressed", "Already addressed"),
    ("data-incorrect", "Patient data shown is incorrect or out of date"),
    ("clinical-judgement", "Different course chosen on clinical judgement"),
)
OPTION_CARDS = 3

Indicator = Literal["info", "warning", "critical"]
# The card indicator (CDS Hooks' vocabulary) for an alert of each severity; only warning and critical
# alerts become cards of their own.
INDICATOR: dict[AlertSeverity, Indicator] = {
    AlertSeverity.CRITICAL: "critical",
    AlertSeverity.WARNING: "warning",
    AlertSeverity.INFO: "info",
}
CARD_ALERTS = frozenset({AlertSeverity.CRITICAL, AlertSeverity.WARNING})


@dataclass(frozen=True)
class CardSettings:
    """Where the app is, for source and patient-page links."""

    app_base: str
    patient_page_path: str
    patient_id: str | None
    unavailable: tuple[str, ...] = ()
    smart_launch_url: str | None = None  # the app's SMART launch URL, when SMART launch is set up


@dataclass
class Issued:
    cards: list[Card] = field(default_factory=list)
    records: list[IssuedCard] = field(default_factory=list)

    def add(self, card: Card, recommendation: str, level: str | None) -> None:
        assert card.uuid is not None  # noqa: S101 - every card we build has one
        self.cards.append(card)
        self.records.append(
            IssuedCard(
                uuid=card.uuid, recommendation=recommendation, evidence_level=level, indicator=card.indicator
            )
        )


def restamp(issued: Issued) -> Issued:
    """The same cards with new card and suggestion uuids (a repeated answer names its own cards)."""
    out = Issued()
    for card, record in zip(issued.cards, issued.records, strict=True):
        suggestions = (
            [s.model_copy(update={"uuid": str(uuid.uuid4())}) for s in card.suggestions]
            if card.suggestions
            else None
        )
        renewed = card.model_copy(update={"uuid": str(uuid.uuid4()), "suggestions": suggestions})
        out.cards.append(renewed)
        out.records.append(IssuedCard(**{**record.model_dump(), "uuid": renewed.uuid}))
    return out


def source(knowledge: KnowledgeInfo, cs: CardSettings, topic: str, display: str) -> Source:
    return Source(
        label=f"calcinosis-cds knowledge pack v{knowledge.version}",
        url=f"{cs.app_base}/pack",
        topic=Coding(system=TOPIC_SYSTEM, code=topic, display=display),
    )


def links(cs: CardSettings, about: dict[str, str] | None = None) -> list[Link] | None:
    """The patient page, and (when SMART launch is set up) a ``smart`` link whose ``appContext`` names the
    patient and what the card is about, so the launched app opens at that point of the result page."""
    if not cs.patient_id:
        return None
    path = cs.patient_page_path.replace("{patient_id}", cs.patient_id)
    out = [
        Link(
            label="Open the calcinosis assessment (basis, all options, sources)",
            url=cs.app_base + path,
            type="absolute",
        )
    ]
    if cs.smart_launch_url:
        out.append(
            Link(
                label="Open calcinosis-cds on this patient's live record",
                url=cs.smart_launch_url,
                type="smart",
                appContext=app_context_value(cs.patient_id, **(about or {})),
            )
        )
    return out


def override_reasons() -> list[Coding]:
    return [Coding(system=OVERRIDE_SYSTEM, code=c, display=d) for c, d in OVERRIDE_REASONS]


def knowledge_ext(k: KnowledgeInfo) -> dict[str, Any]:
    return {
        "pack": k.pack,
        "version": k.version,
        "contentHash": k.content_hash,
        "lastReviewed": k.last_reviewed,
    }


def grade_ext(option: TherapyOption) -> dict[str, Any]:
    ev = option.evidence
    return {
        "therapy": option.id,
        "system": "nalluri-coulson-a-e",
        "level": ev.shown.value if ev.shown else None,
        "levelBasis": ev.shown_from,
        "derived": ev.derived.value if ev.derived else None,
        "stated": [
            {"scale": s.scale, "level": s.level, "direction": s.direction, "source": s.source.id}
            for s in ev.stated
        ],
        "studies": ev.studies,
        "largestN": ev.largest_n,
        "stance": option.stance.value,
        "line": option.line,
    }


def _card(
    summary: str,
    indicator: Indicator,
    body: str,
    a: Assessment,
    cs: CardSettings,
    topic: tuple[str, str],
    ext: dict[str, Any],
    about: dict[str, str] | None = None,
) -> Card:
    return Card(
        uuid=str(uuid.uuid4()),
        summary=md.fit_summary(summary),
        detail=body,
        indicator=indicator,
        source=source(a.knowledge, cs, *topic),
        overrideReasons=override_reasons(),
        links=links(cs, about),
        extension=prune({EXT_KNOWLEDGE: knowledge_ext(a.knowledge), **ext}),
    )


def alert_card(alert: Alert, a: Assessment, cs: CardSettings) -> Card:
    body = md.join(
        [md.esc(alert.text)],
        md.fact_lines(alert.basis.facts, a),
        md.missing_lines(a, cs.unavailable),
        md.citations(alert.basis.sources),
        md.knowledge_footer(a.knowledge),
        [f"_{md.esc(a.disclaimer)}_"],
    )
    ext = {EXT_BASIS: {"rules": list(alert.basis.rules), "therapies": list(alert.therapies)}}
    about = {"alert": alert.id}
    return _card(
        md.first_sentence(alert.text),
        INDICATOR[alert.severity],
        body,
        a,
        cs,
        ("alert", "Safety alert"),
        ext,
        about,
    )


def subtype_card(a: Assessment, cs: CardSettings) -> Card:
    call = a.subtype
    critical = call.code is SubtypeCode.CALCIPHYLAXIS
    summary = f"Calcinosis cutis: {call.name} ({call.confidence} confidence)"
    if critical:
        summary = f"Suspected calciphylaxis: {call.name} ({call.confidence} confidence)"
    missing = [w for w in a.workup if w.status is WorkupStatus.MISSING]
    if missing:
        summary += f"; {len(missing)} work-up item{'s' if len(missing) != 1 else ''} missing"
    reasons = [f"- {md.esc(r.text)}" for r in call.reasons]
    alternatives = [
        f"- Alternative: {md.esc(alt.code.value)} ({alt.confidence})" for alt in call.alternatives
    ]
    options = [f"{o.rank}. {md.esc(o.name)}: {o.stance.value}; level {_level(o)}" for o in a.therapies[:6]]
    facts = [f for r in call.reasons for f in r.basis.facts]
    differential = [
        f"{c.rank}. {md.esc(c.name)}: score {c.score}, {c.confidence}"
        + (f" (against: {md.esc('; '.join(f.text for f in c.opposing))})" if c.opposing else "")
        for c in a.differential[:4]
    ]
    body = md.join(
        [f"**Subtype**: {md.esc(call.name)} ({call.confidence} confidence)", *reasons, *alternatives],
        ["**Weighed differential**", *differential] if len(differential) > 1 else [],
        [f"**Next test**: {md.esc(a.next_test.name)} — {md.esc(a.next_test.why)}"] if a.next_test else [],
        [f"- {md.esc(w)}" for w in call.would_change],
        ["**Options ranked for this patient** (stance; A–E evidence level)", *options] if options else [],
        [f"**Work-up**: {md.esc(w.name)} — {md.esc(w.why)}" for w in missing[:8]],
        md.fact_lines(facts, a),
        md.missing_lines(a, cs.unavailable),
        md.citations(s for r in call.reasons for s in r.basis.sources),
        md.knowledge_footer(a.knowledge),
        [f"_{md.esc(a.disclaimer)}_"],
    )
    ext = {
        EXT_BASIS: {
            "rules": [rule for r in call.reasons for rule in r.basis.rules],
            "subtype": call.code.value,
        }
    }
    return _card(
        summary,
        "critical" if critical else "info",
        body,
        a,
        cs,
        ("classification", "Calcinosis subtype"),
        ext,
        {"section": "subtype"},
    )


def _level(o: TherapyOption) -> str:
    return o.evidence_level.value if o.evidence_level else "none"


def local_lines(o: TherapyOption) -> list[str]:
    """This clinic's registry figures for the option ("this clinic: N courses, …"), when the assessment
    carries them (``local_evidence``, docs/registry.md): shown beside the grade, never part of it."""
    local = getattr(o, "local_evidence", None)
    text = getattr(local, "text", None)
    if not isinstance(text, str) or not text:
        return []
    caution = getattr(local, "caution", None)
    return [f"**Local registry** (not graded): {md.esc(text)}"] + (
        [f"- {md.esc(caution)}"] if caution else []
    )


def option_card(o: TherapyOption, a: Assessment, cs: CardSettings) -> Card:
    level = _level(o)
    summary = f"Option {o.rank}: {o.name} ({o.stance.value}; evidence level {level})"
    patient_cautions = [c for c in o.cautions if c.patient_specific]
    body = md.join(
        [
            f"**{md.esc(o.name)}**: {o.stance.value}"
            + (f", {o.line}-line" if o.line else "")
            + f"; fit: {md.esc(o.fit)}"
        ],
        [md.grade_text(o)],
        local_lines(o),
        ["**Why**", *[f"- {md.esc(r)}" for r in o.rationale]],
        ["**Cautions for this patient**", *[f"- ({c.severity}) {md.esc(c.text)}" for c in patient_cautions]]
        if patient_cautions
        else [],
        ["**Sources disagree**", *[f"- {md.esc(c.topic)}: {md.esc(c.handling)}" for c in o.conflicts]]
        if o.conflicts
        else [],
        [
            "**Label facts for this patient**",
            *[
                f"- {md.esc(f.context)}: {md.esc((f.drug + ': ') if f.drug else '')}{md.esc(f.text)}"
                + (f" ({md.esc(f.label)})" if f.label else "")
                for f in o.label_facts
            ],
        ]
        if o.label_facts
        else [],
        md.fact_lines([*o.basis.facts, *(f for r in a.subtype.reasons for f in r.basis.facts)], a),
        md.missing_lines(a, cs.unavailable),
        md.citations(o.basis.sources),
        md.knowledge_footer(a.knowledge),
        [f"_{md.esc(a.disclaimer)}_"],
    )
    topic = ("treatment-option", "Treatment option")
    return _card(summary, "info", body, a, cs, topic, {EXT_GRADE: grade_ext(o)}, {"therapy": o.id})


def patient_view_cards(a: Assessment, cs: CardSettings, *, has_calcinosis: bool) -> Issued:
    """Alert cards (warning/critical: a strong risk context) for anyone; the subtype and option cards only
    when the record holds calcinosis (a lesion, or a calcinosis or calciphylaxis diagnosis)."""
    out = Issued()
    for alert in a.alerts:
        if alert.severity in CARD_ALERTS:
            out.add(alert_card(alert, a, cs), f"alert:{alert.id}", None)
    if has_calcinosis and a.calcinosis.recorded:
        out.add(subtype_card(a, cs), f"subtype:{a.subtype.variant or a.subtype.code.value}", None)
        leading = [o for o in a.therapies if o.stance in (Stance.RECOMMENDED, Stance.CONSIDER)][:OPTION_CARDS]
        for o in leading:
            out.add(option_card(o, a, cs), o.id, o.evidence_level.value if o.evidence_level else None)
    return out


def incomplete_card(knowledge: KnowledgeInfo, cs: CardSettings, what: list[str], why: str) -> Card:
    """The answer when the time budget runs out: say plainly that the basis is incomplete."""
    body = md.join(
        [f"No calcinosis guidance is shown for this call because {md.esc(why)}."],
        ["**Not retrieved**", *[f"- {md.esc(w)}" for w in what]] if what else [],
        ["Open the app page to run the full assessment."],
        md.knowledge_footer(knowledge),
    )
    return Card(
        uuid=str(uuid.uuid4()),
        summary=md.fit_summary(f"Calcinosis guidance incomplete: {why}"),
        detail=body,
        indicator="info",
        source=source(knowledge, cs, "basis-incomplete", "Basis incomplete"),
        links=links(cs),
        extension=prune(
            {EXT_KNOWLEDGE: knowledge_ext(knowledge), EXT_BASIS: {"complete": False, "missing": what}}
        ),
    )
