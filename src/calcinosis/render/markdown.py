"""Assessment and ladder as Markdown: for the CLI, printable plans and CDS Hooks card detail."""

from __future__ import annotations

from collections.abc import Iterable

from calcinosis.engine.ladder import ladder
from calcinosis.engine.rank import evidence_of
from calcinosis.engine.results import Assessment, Citation, TherapyOption
from calcinosis.pack.knowledge import KnowledgePack


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
        out.append(f"   - Basis: {sources_line(t.basis.sources)}")
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
    lines += ["", "## Work-up"]
    for w in a.workup:
        box = {"missing": "[ ]", "done": "[x]", "abnormal": "[!]"}[w.status.value]
        lines.append(f"- {box} **{w.name}** — {w.status.value}{f': {w.result}' if w.result else ''}. {w.why}")
    lines += ["", "## Therapy options (best first)"]
    for t in a.therapies:
        lines += therapy_block(t)
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
