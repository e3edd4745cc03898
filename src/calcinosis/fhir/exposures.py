"""Iatrogenic exposures read from records: IV calcium or phosphate given or ordered, and exposures in notes.

Each becomes a history event with its date and, where the record gives one, its site, so the engine can
relate it to a lesion at the same site. Which medications count, what "intravenous" looks like and which
exposures are read from notes are data (``exposures`` in ``patient/data/code-sets.yaml``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from calcinosis.fhir.bundle import Entry
from calcinosis.fhir.context import Context
from calcinosis.fhir.values import all_text, codings, dated_notes
from calcinosis.patient.models import Coding, Event


def iv_exposures(ctx: Context, medications: list[str], route: Any, product: str | None) -> list[str]:
    """Exposure events for medication concepts given intravenously.

    The route decides when one is recorded (its codings or words); without a route, a product name that only
    describes an injectable or infusion form does.
    """
    events = [ctx.vocab.iv_medications[m] for m in medications if m in ctx.vocab.iv_medications]
    if not events:
        return []
    pairs = [(c.system, c.code) for c in codings(route)]
    words = all_text(route)
    if pairs or words.strip():
        return events if ctx.vocab.is_iv_route(pairs, words) else []
    return events if ctx.vocab.is_parenteral_form(product) else []


def add_exposures(
    ctx: Context,
    entry: Entry,
    events: list[str],
    *,
    text: str | None,
    codes: tuple[Coding, ...],
    day: date | None,
    site: str | None,
) -> None:
    for event in dict.fromkeys(events):
        ctx.history.append(
            Event(id=f"{entry.key}#{event}", concept=event, text=text, codes=codes, date=day, site=site)
        )


def note_exposures(ctx: Context, entry: Entry, day: date | None, site: str | None) -> bool:
    """Exposures named in the resource's notes, dated by the note (else ``day``) at the resource's site.

    Exposures the resource already gave (or implies) are not repeated; negated mentions are skipped by the
    shared text matcher. Returns True when a note was read.
    """
    given = {e.concept for e in ctx.history if e.concept and (e.id or "").split("#")[0] == entry.key}
    read = False
    for text, written in dated_notes(entry.resource):
        named = {c for c in ctx.vocab.concepts_in_text(text, "event") if c in ctx.vocab.note_events}
        for concept in ctx.vocab.most_specific(named):
            if concept in ctx.vocab.implied(given):
                continue
            ctx.history.append(
                Event(
                    id=f"{entry.key}#note-{concept}",
                    concept=concept,
                    text=text,
                    date=written or day,
                    site=site,
                )
            )
            given.add(concept)
            read = True
    return read
