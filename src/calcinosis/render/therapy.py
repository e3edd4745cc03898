"""One therapy's evidence page as Markdown: studies, derived and stated levels, cautions, conflicts."""

from __future__ import annotations

from calcinosis.engine.basis import cite_all
from calcinosis.engine.rank import evidence_of
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.levels import LEVEL_RULE, derive_study_level
from calcinosis.render.markdown import sources_line


def therapy_markdown(pack: KnowledgePack, therapy_id: str) -> str:
    t = pack.therapies[therapy_id]
    ev = evidence_of(t, pack)
    out = [
        f"# {t.name} (`{t.id}`)",
        "",
        t.summary,
        f"_Source: {sources_line(cite_all(pack, t.summary_sources))}_",
        "",
    ]
    out += [f"**Mechanism:** {t.mechanism} _({sources_line(cite_all(pack, t.mechanism_sources))})_", ""]
    derived = ev.derived.value if ev.derived else "not derivable from recorded studies"
    out += [f"**Derived evidence level:** {derived} — rule: {LEVEL_RULE}", ""]
    if ev.stated:
        out.append("**Levels stated by sources:**")
        out += [f"- {s.level} ({s.scale}, {s.direction}) — {s.source.short}" for s in ev.stated]
        out.append("")
    if t.lines:
        out.append("**Lines stated by sources:**")
        for ln in t.lines:
            setting = f" in {ln.setting}" if ln.setting else ""
            out.append(
                f"- {ln.line.value}{setting} — {pack.sources[ln.source.source].short}"
                + (f" ({ln.note})" if ln.note else "")
            )
        out.append("")
    out += [
        "## Studies",
        "",
        "| Study | Design | Blinding | N | Supports | Population | Outcome | Source |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in t.studies:
        lvl = derive_study_level(s)
        flag = "" if s.verified else " (unverified)"
        out.append(
            f"| {s.label}{flag} | {s.design.value} | {s.blinding.value} | {s.n or '?'} | {lvl.value if lvl else '–'} "
            f"| {s.population} | {s.outcome} | {sources_line(cite_all(pack, s.sources))} |"
        )
    if t.settings:
        out += ["", "## Settings", ""]
        out += [
            f"- {pack.settings[f.setting].name}: {f.fit.value}" + (f" — {f.note}" if f.note else "")
            for f in t.settings
        ]
    if t.cautions:
        out += ["", "## Cautions", ""]
        for c in t.cautions:
            when = f" (when: {', '.join(c.when)})" if c.when else ""
            flag = "" if c.verified else " (unverified)"
            out.append(
                f"- **{c.severity.value}**{when}: {c.text}{flag} _({sources_line(cite_all(pack, c.sources))})_"
            )
    if t.doses_reported:
        out += ["", "## Doses reported in sources (verify before use)", ""]
        out += [f"- {d.text} _({sources_line(cite_all(pack, d.sources))})_" for d in t.doses_reported]
    conflicts = pack.all_conflicts(t.id)
    if conflicts:
        out += ["", "## Conflicts between sources", ""]
        for k in conflicts:
            out.append(f"- **{k.topic}**")
            out += [f"  - {p.claim} _({sources_line(cite_all(pack, p.sources))})_" for p in k.positions]
            out.append(f"  - Handling: {k.handling}")
    return "\n".join(out) + "\n"
