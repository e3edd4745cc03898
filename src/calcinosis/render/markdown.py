"""Assessment and ladder as Markdown: for the CLI, printable plans and CDS Hooks card detail."""

from __future__ import annotations

from collections.abc import Iterable

from calcinosis.engine.ladder import ladder
from calcinosis.engine.rank import evidence_of
from calcinosis.engine.results import Assessment, Citation, LabelFactOut, TherapyOption, WorkupStatus
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.render.vocabulary import CONTEXT_NAMES, STATUS_BOX


def cite_text(c: Citation) -> str:
    ids = []
    if c.pmid:
        ids.append(f"PMID {c.pmid}")
    if c.doi:
        ids.append(f"doi:{c.doi}")
    where = f", {c.section}" if c.section else ""
    flag = "" if c.verified else " (unverified)"
    return f"{c.short}{where}" + (f" [{'; '.join(ids)}]" if ids else "") + flag


def sources_line(cites: Iterable[Citation]) -> str:
    return "; ".join(dict.fromkeys(cite_text(c) for c in cites))


def therapy_block(t: TherapyOption, detail: bool = True) -> list[str]:
    level = t.evidence_level.value if t.evidence_level else "–"
    out = [
        f"{t.rank}. **{t.name}** — {t.stance.value}; line: {t.line or 'not stated'}; evidence {level} ({t.evidence.shown_from})"
    ]
    if detail:
        out += [f"   - {r}" for r in t.rationale]
        for c in t.cautions:
            if c.applies_when and not c.patient_specific:
                continue
            mark = "**for this patient** " if c.patient_specific else ""
            out.append(f"   - ⚠ {mark}{c.severity}: {c.text} _(source: {sources_line(c.sources)})_")
        idle = [c for c in t.cautions if c.applies_when and not c.patient_specific]
        if idle:
            out.append(
                "   - Not triggered for this patient: "
                + "; ".join(f"{c.text} (when: {', '.join(c.applies_when).lower()})" for c in idle)
            )
        for k in t.conflicts:
            out.append(f"   - ⇄ sources disagree — {k.topic}: {' vs '.join(k.positions)}. {k.handling}")
        out += [f"   - {line}" for line in label_lines(t.label_facts)]
        out.append(f"   - Basis: {sources_line(t.basis.sources)}")
    return out


def label_lines(facts: Iterable[LabelFactOut]) -> list[str]:
    """One line per label fact: the context, the drug, what its label says (or that nothing is recorded)."""
    out = []
    for f in facts:
        who = f"{f.drug}: " if f.drug else ""
        sev = f" ({f.severity})" if f.severity else ""
        label = f" — {f.label}" if f.label else ""
        src = f" _(source: {sources_line(f.sources)})_" if f.sources else ""
        out.append(f"🏷 {CONTEXT_NAMES[f.context]}: {who}{f.text}{sev}{label}{src}")
    return out


def differential_lines(a: Assessment) -> list[str]:
    if not a.differential:
        return []
    out = ["", "## Differential (weighed findings)"]
    for c in a.differential:
        out.append(f"{c.rank}. **{c.name}** (`{c.key}`) — score {c.score}, confidence {c.confidence}")
        out += [f"   - + {f.text} (weight {f.weight})" for f in c.supporting]
        out += [f"   - − {f.text} (weight {f.weight})" for f in c.opposing]
        out += [f"   - ? {f.text} (weight {f.weight}; decided by: {', '.join(f.tests)})" for f in c.missing]
    if a.next_test is not None:
        out.append(
            f"- **Next test that best separates the leading candidates**: {a.next_test.name}. {a.next_test.why}"
        )
    return out


def assessment_markdown(a: Assessment) -> str:
    s = a.subtype
    lines = [f"# Calcinosis cutis assessment{f' — {a.patient_id}' if a.patient_id else ''}", ""]
    lines += [f"> {a.disclaimer}", ""]
    if a.alerts:
        lines.append("## Alerts")
        lines += [
            f"- **{al.severity.upper()}**: {al.text} _(source: {sources_line(al.basis.sources)})_"
            for al in a.alerts
        ]
        lines.append("")
    lines += [
        "## Subtype",
        f"**{s.name}** (`{s.code.value}`{f' / {s.variant}' if s.variant else ''}), confidence {s.confidence}",
        "",
    ]
    lines += [f"- {r.text} _(source: {sources_line(r.basis.sources)})_" for r in s.reasons]
    if s.alternatives:
        lines.append(
            "- Alternatives: "
            + "; ".join(
                f"{x.code.value}{f'/{x.variant}' if x.variant else ''} ({x.confidence})"
                for x in s.alternatives
            )
        )
    lines += [f"- What would change the call: {w}" for w in s.would_change]
    lines += differential_lines(a)
    if a.risk_profile:
        lines += ["", "## Risk profile (no calcinosis recorded)"]
        lines += [
            f"- At risk of {', '.join(x.value for x in r.subtypes)}: {r.watch_for} _(source: {sources_line(r.basis.sources)})_"
            for r in a.risk_profile
        ]
    lines += ["", "## Work-up"]
    for w in a.workup:
        box = STATUS_BOX[w.status]
        opt = " (optional)" if w.optional else ""
        sep = (
            f" Helps separate: {', '.join(w.separates)}."
            if w.separates and w.status is WorkupStatus.MISSING
            else ""
        )
        lines.append(
            f"- {box} **{w.name}**{opt} — {w.status.value}{f': {w.result}' if w.result else ''}. {w.why}{sep}"
        )
    if a.calcinosis.recorded:
        lines += ["", "## Therapy options (best first)"]
        for t in a.therapies:
            lines += therapy_block(t)
    else:
        lines += ["", "## Therapy options", "", "None: no calcinosis is recorded, so no therapy is ranked."]
    if a.history is not None and a.history.courses:
        lines += ["", "## Treatment history (response computed from visits)"]
        for c in a.history.courses:
            state = (
                "running"
                if c.running
                else f"stopped {c.stop}" + (f" ({c.stop_reason})" if c.stop_reason else "")
            )
            lines.append(
                f"- **{c.therapy}**{f' ({c.agent})' if c.agent else ''}: {c.start}, {c.duration_days} days, {state}"
                f" — {c.category}. {c.category_basis}"
            )
            lines += [f"   - {m.text}" for m in c.measures]
            lines += [f"   - Adverse event: {e}" for e in c.adverse_events]
            if c.next_measurement_due:
                lines.append(f"   - Next measurement due {c.next_measurement_due}")
    if a.medication_safety:
        lines += ["", "## Current medications: label facts for this patient"]
        for m in a.medication_safety:
            lines.append(f"- **{m.medication}**")
            lines += [f"   - {line}" for line in label_lines(m.facts)]
    lines += ["", "## Facts used"]
    lines += [
        f"- `{f.id}` {f.text}{f': {f.value}' if f.value else ''}{f' ({f.date})' if f.date else ''}"
        for f in a.facts_used
    ]
    if a.input_issues:
        lines += ["", "## Input not used"]
        lines += [f"- {i.location}: {i.message}" for i in a.input_issues]
    k = a.knowledge
    lines += [
        "",
        f"_Knowledge pack {k.pack} {k.version} (hash {k.content_hash[:12]}), last reviewed {k.last_reviewed}. Grading: {k.grading_system}_",
        "",
    ]
    return "\n".join(lines)


def ladder_markdown(pack: KnowledgePack, setting: str | None = None) -> str:
    rows = [
        "| Therapy | Line (stated) | Derived | Stated | Settings | Conflicts |",
        "|---|---|---|---|---|---|",
    ]
    for t in ladder(pack, setting):
        ev = evidence_of(t, pack)
        lines = ", ".join(sorted({ln.line.value for ln in t.lines})) or "–"
        stated = ", ".join(f"{s.level} ({s.source.short})" for s in ev.stated) or "–"
        settings = ", ".join(f"{f.setting}:{f.fit.value}" for f in t.settings) or "–"
        n = len(pack.all_conflicts(t.id))
        rows.append(
            f"| {t.name} | {lines} | {ev.derived.value if ev.derived else '–'} | {stated} | {settings} | {n or '–'} |"
        )
    return "\n".join(rows) + "\n"
