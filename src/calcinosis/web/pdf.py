"""The printable plan as PDF (reportlab): alerts, subtype, work-up checklist, ranked options with their
cautions and sources, and on every page the knowledge version, the date and the decision-support statement.
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import registerFontFamily
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from calcinosis.engine.results import Assessment, Citation, TherapyOption, WorkupStatus
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.render.vocabulary import STANCE_LABEL
from calcinosis.web.present import caution_groups

STATEMENT = "Decision support — review the basis. It does not replace clinical judgement."
SYSTEM_FONTS = Path("/usr/share/fonts/truetype/dejavu")
# The markdown checkboxes, the empty one widened for the PDF's proportional font.
BOX: dict[WorkupStatus, str] = {
    WorkupStatus.MISSING: "[  ]",
    WorkupStatus.DONE: "[x]",
    WorkupStatus.ABNORMAL: "[!]",
}


@cache
def _fonts() -> tuple[str, str, frozenset[int]]:
    """(regular, bold, code points covered): DejaVu when the system has it, else reportlab's own Vera."""
    import reportlab

    pairs = [
        (SYSTEM_FONTS / "DejaVuSans.ttf", SYSTEM_FONTS / "DejaVuSans-Bold.ttf"),
        (
            Path(reportlab.__file__).parent / "fonts" / "Vera.ttf",
            Path(reportlab.__file__).parent / "fonts" / "VeraBd.ttf",
        ),
    ]
    regular, bold = next((r, b) for r, b in pairs if r.is_file() and b.is_file())
    pdfmetrics.registerFont(TTFont("PlanSans", str(regular)))
    pdfmetrics.registerFont(TTFont("PlanSans-Bold", str(bold)))
    registerFontFamily(
        "PlanSans", normal="PlanSans", bold="PlanSans-Bold", italic="PlanSans", boldItalic="PlanSans-Bold"
    )
    face = pdfmetrics.getFont("PlanSans").face
    return "PlanSans", "PlanSans-Bold", frozenset(face.charToGlyph)


def _fit(text: str) -> str:
    """Text the font can draw: characters it lacks become their unaccented form, else '?'."""
    covered = _fonts()[2]
    out = []
    for ch in text:
        if ord(ch) in covered or ch in "\n\t":
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if ord(c) in covered)
        out.append(base or {"≥": ">=", "≤": "<=", "−": "-"}.get(ch, "?"))
    return "".join(out)


def _p(text: str, style: ParagraphStyle, *, lead: str | None = None) -> Paragraph:
    """A paragraph of plain text; ``lead`` is set in bold before it."""
    head = f"<b>{escape(_fit(lead))}</b> " if lead else ""
    return Paragraph(head + escape(_fit(text)), style)


def _styles() -> dict[str, ParagraphStyle]:
    regular, bold, _ = _fonts()
    base = ParagraphStyle("base", fontName=regular, fontSize=9, leading=11.5)
    return {
        "body": base,
        "small": ParagraphStyle(
            "small", parent=base, fontSize=7.5, leading=9.5, textColor=colors.HexColor("#333333")
        ),
        "h1": ParagraphStyle("h1", parent=base, fontName=bold, fontSize=15, leading=19, spaceAfter=4),
        "h2": ParagraphStyle(
            "h2", parent=base, fontName=bold, fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=3
        ),
        "bold": ParagraphStyle("bold", parent=base, fontName=bold),
        "h3": ParagraphStyle("h3", parent=base, fontName=bold, fontSize=9.5, spaceBefore=3),
        "notice": ParagraphStyle(
            "notice",
            parent=base,
            fontName=bold,
            borderColor=colors.black,
            borderWidth=0.8,
            borderPadding=4,
            spaceBefore=4,
            spaceAfter=8,
        ),
    }


def _cites(cites: Iterable[Citation]) -> str:
    parts = []
    for c in cites:
        ids = [f"PMID {c.pmid}" if c.pmid else "", f"doi:{c.doi}" if c.doi else ""]
        label = c.short + (f", {c.section}" if c.section else "")
        extra = "; ".join(i for i in ids if i)
        parts.append(label + (f" [{extra}]" if extra else "") + ("" if c.verified else " (unverified)"))
    return "; ".join(dict.fromkeys(parts))


def _therapy(t: TherapyOption, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    if t.evidence_level is None:
        level = "none"
    else:
        level = t.evidence_level.value + (
            "" if t.evidence.shown_from == "derived" else " (stated by a source)"
        )
    head = f"{t.rank}. {t.name} — {STANCE_LABEL[t.stance]}; line: {t.line or 'not stated'}; evidence {level}"
    out: list[Flowable] = [_p(head, s["h3"])]
    out += [_p(f"• {r}", s["body"]) for r in t.rationale]
    groups = caution_groups(t)
    for c in groups.for_patient:
        out.append(_p(f"{c.text} ({_cites(c.sources)})", s["body"], lead=f"FOR THIS PATIENT — {c.severity}:"))
    for c in groups.general:
        out.append(_p(f"{c.text} ({_cites(c.sources)})", s["body"], lead=f"Caution — {c.severity}:"))
    for c in groups.not_triggered:
        when = "; ".join(c.applies_when)
        out.append(
            _p(f"Not triggered for this patient (applies when: {when}) — {c.severity}: {c.text}", s["small"])
        )
    for k in t.conflicts:
        out.append(_p(f"Sources disagree — {k.topic}: {' / '.join(k.positions)}. {k.handling}", s["small"]))
    out.append(_p(f"Basis: {_cites(t.basis.sources)}", s["small"]))
    out.append(Spacer(1, 4))
    return out


def _story(
    a: Assessment, pack: KnowledgePack, generated: dt.datetime, s: dict[str, ParagraphStyle]
) -> list[Flowable]:
    k = a.knowledge
    subtypes = pack.subtypes
    story: list[Flowable] = [_p("Calcinosis cutis — management plan", s["h1"])]
    story.append(_p(a.disclaimer, s["notice"], lead="Decision support — review the basis."))
    info = [
        ("Patient / case", a.patient_id or "not given"),
        ("Generated", generated.strftime("%Y-%m-%d %H:%M UTC")),
        (
            "Knowledge pack",
            f"{k.pack} {k.version} (hash {k.content_hash[:12]}), last reviewed {k.last_reviewed}",
        ),
    ]
    table = Table([[_p(x, s["bold"]), _p(y, s["body"])] for x, y in info], colWidths=[35 * mm, 140 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))
    story.append(table)
    if a.alerts:
        story.append(_p("Alerts", s["h2"]))
        for al in a.alerts:
            story.append(_p(al.text, s["body"], lead=f"{al.severity.upper()}:"))
            story.append(_p(f"Sources: {_cites(al.basis.sources)}", s["small"]))
    sub = a.subtype
    story.append(_p("Likely subtype", s["h2"]))
    story.append(
        _p(f"{sub.name}{f' ({sub.variant})' if sub.variant else ''} — confidence {sub.confidence}", s["bold"])
    )
    for r in sub.reasons:
        story.append(_p(f"• {r.text}", s["body"]))
        story.append(_p(f"Sources: {_cites(r.basis.sources)}", s["small"]))
    for alt in sub.alternatives:
        alt_id = alt.variant or alt.code.value
        name = subtypes[alt_id].name if alt_id in subtypes else alt_id
        story.append(_p(f"{name} (confidence {alt.confidence})", s["body"], lead="Alternative:"))
    story.append(_p("Work-up checklist", s["h2"]))
    for w in a.workup:
        result = f" — result: {w.result}" if w.result else ""
        story.append(_p(f"{w.why}", s["body"], lead=f"{BOX[w.status]} {w.name} ({w.status.value}){result}."))
    story.append(_p("Therapy options, best first", s["h2"]))
    for t in a.therapies:
        story += _therapy(t, s)
    if a.input_issues:
        story.append(_p("Input not used", s["h2"]))
        story += [_p(f"{i.location}: {i.message}", s["small"]) for i in a.input_issues]
    story.append(_p("Evidence levels (Nalluri & Coulson A–E)", s["h2"]))
    story.append(_p(k.grading_system, s["small"]))
    return story


def plan_pdf(assessment: Assessment, pack: KnowledgePack, generated: dt.datetime) -> bytes:
    """The plan as PDF bytes; the footer of every page names the knowledge version and the date."""
    k = assessment.knowledge
    styles = _styles()
    footer = (
        _fit(f"calcinosis-cds · {STATEMENT}"),
        _fit(
            f"Knowledge pack {k.pack} {k.version} (hash {k.content_hash[:12]}, last reviewed {k.last_reviewed}) · "
            f"generated {generated.strftime('%Y-%m-%d %H:%M UTC')}"
        ),
    )

    def on_page(canvas: object, doc: SimpleDocTemplate) -> None:
        canvas.saveState()  # type: ignore[attr-defined]
        canvas.setFont(_fonts()[0], 7)  # type: ignore[attr-defined]
        canvas.drawString(15 * mm, 11 * mm, footer[0])  # type: ignore[attr-defined]
        canvas.drawString(15 * mm, 7.5 * mm, footer[1])  # type: ignore[attr-defined]
        canvas.drawRightString(195 * mm, 7.5 * mm, f"page {doc.page}")  # type: ignore[attr-defined]
        canvas.restoreState()  # type: ignore[attr-defined]

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title="Calcinosis cutis management plan",
        subject=f"Knowledge pack {k.pack} {k.version} (hash {k.content_hash[:12]}); generated "
        f"{generated.strftime('%Y-%m-%d')}",
        author="calcinosis-cds",
        creator=f"calcinosis-cds (knowledge pack {pack.meta.version})",
    )
    doc.build(_story(assessment, pack, generated, styles), onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
