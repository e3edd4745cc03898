"""Markdown for card ``detail``: the basis of what a card says, in the words of the assessment.

Free text from patient data is escaped (GitHub-flavoured Markdown allows HTML and links), so a value
in a chart can never turn into markup or a link on a card.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from calcinosis.engine.results import (
    Assessment,
    Citation,
    FactUsed,
    KnowledgeInfo,
    TherapyOption,
    WorkupStatus,
)

# What could turn chart text into markup: emphasis, code, links and images ([...]), HTML (<...>), headings,
# tables and strikethrough. Other punctuation is left alone so the text stays readable where shown raw.
_ESCAPES = str.maketrans({**{c: "\\" + c for c in "\\`*_[]<>#|~"}, "\r": " ", "\n": " "})


@lru_cache(maxsize=8192)
def esc(text: str) -> str:
    """Escape Markdown and HTML so the text shows literally (cached: pack texts recur on every card)."""
    return text.translate(_ESCAPES)


def fit_summary(text: str, limit: int = 139) -> str:
    """One line under 140 characters, cut at a word boundary with an ellipsis when needed."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:- ")
    return cut + "…"


def first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.!?])(\s|$)", text.strip())
    return match.group(1) if match else text.strip()


def citation_line(c: Citation) -> str:
    parts = [f"**{esc(c.short)}**: {esc(c.citation)}"]
    if c.section:
        parts.append(f"section: {esc(c.section)}")
    if c.pmid:
        parts.append(f"PMID [{c.pmid}](https://pubmed.ncbi.nlm.nih.gov/{c.pmid}/)")
    if c.doi:
        parts.append(f"DOI [{esc(c.doi)}](https://doi.org/{c.doi})")
    if not c.verified:
        parts.append("_not verified against the source_")
    return "- " + "; ".join(parts)


def citations(cites: Iterable[Citation], limit: int = 8) -> list[str]:
    unique = list({c.id: c for c in cites}.values())
    lines = ["**Sources**", *[citation_line(c) for c in unique[:limit]]]
    if len(unique) > limit:
        lines.append(f"- and {len(unique) - limit} more on the app page")
    return lines


def fact_lines(
    fact_ids: Sequence[str], assessment: Assessment, heading: str = "Patient facts used"
) -> list[str]:
    by_id: dict[str, FactUsed] = {f.id: f for f in assessment.facts_used}
    facts = [by_id[i] for i in dict.fromkeys(fact_ids) if i in by_id]
    if not facts:
        return [f"**{heading}**: none recorded for this statement"]
    lines = [f"**{heading}**"]
    for f in facts:
        value = f": {esc(f.value)}" if f.value else ""
        when = f" ({f.date})" if f.date else " (date not recorded)"
        lines.append(f"- {esc(f.text)}{value}{when}")
    return lines


def missing_lines(assessment: Assessment, unavailable: Sequence[str] = ()) -> list[str]:
    items = [
        f"{esc(w.name)} (work-up not yet done)" for w in assessment.workup if w.status is WorkupStatus.MISSING
    ]
    items += [f"{esc(k)}: not available from the EHR for this call" for k in unavailable]
    items += [
        f"{esc(i.location)}: {esc(i.message)}" for i in assessment.input_issues if i.severity == "warning"
    ]
    if not items:
        return ["**Inputs missing**: none noted"]
    return ["**Inputs missing**", *[f"- {i}" for i in items[:12]]] + (
        [f"- and {len(items) - 12} more on the app page"] if len(items) > 12 else []
    )


def grade_text(option: TherapyOption) -> str:
    ev = option.evidence
    if ev.shown is None:
        return "Evidence level: none derivable (no verified study recorded, none stated)"
    where = "derived from recorded studies" if ev.shown_from == "derived" else "as stated by the source"
    size = f", largest N={ev.largest_n}" if ev.largest_n else ""
    stated = "; ".join(f"{esc(s.source.short)} states {esc(s.scale)} {esc(s.level)}" for s in ev.stated)
    studies = f"{ev.studies} verified stud{'y' if ev.studies == 1 else 'ies'}"
    text = f"Evidence level **{ev.shown.value}** ({where}; {studies}{size})"
    return text + (f". Stated elsewhere: {stated}" if stated else "")


def knowledge_footer(knowledge: KnowledgeInfo) -> list[str]:
    return [
        f"**Grading system**: {esc(knowledge.grading_system)}",
        f"Knowledge pack {esc(knowledge.pack)} v{esc(knowledge.version)} (content hash "
        f"{knowledge.content_hash[:12]}), last reviewed {knowledge.last_reviewed}.",
    ]


def join(*blocks: Sequence[str]) -> str:
    return "\n\n".join("\n".join(b) for b in blocks if b)
