"""Assessment and ladder for a terminal (rich)."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from calcinosis.engine.ladder import ladder
from calcinosis.engine.rank import evidence_of
from calcinosis.engine.results import Assessment, Stance, WorkupStatus
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.models import AlertSeverity, CautionSeverity
from calcinosis.render.markdown import label_lines, sources_line

# Terminal styles (rich) for the engine's vocabularies; their words are the enums' values.
STANCE_STYLE: dict[Stance, str] = {
    Stance.RECOMMENDED: "green",
    Stance.CONSIDER: "cyan",
    Stance.USE_WITH_CAUTION: "yellow",
    Stance.AVOID: "red",
}
ALERT_STYLE: dict[AlertSeverity, str] = {
    AlertSeverity.CRITICAL: "bold white on red",
    AlertSeverity.WARNING: "bold yellow",
    AlertSeverity.INFO: "cyan",
}
STATUS_MARK: dict[WorkupStatus, tuple[str, str]] = {
    WorkupStatus.MISSING: ("☐ missing", "yellow"),
    WorkupStatus.DONE: ("☑ done", "green"),
    WorkupStatus.ABNORMAL: ("⚠ abnormal", "red"),
}
# Cautions that always apply and are shown in the table even when not triggered for this patient.
SHOWN_ALWAYS = frozenset({CautionSeverity.CONTRAINDICATION, CautionSeverity.WARNING})


def print_assessment(a: Assessment, console: Console) -> None:
    console.print(Text(a.disclaimer, style="italic dim"))
    for al in a.alerts:
        style = ALERT_STYLE[al.severity]
        console.print(
            Panel(
                f"{al.text}\n[dim]Source: {sources_line(al.basis.sources)}[/dim]",
                title=al.severity.upper(),
                style=style,
            )
        )
    s = a.subtype
    head = f"[bold]{s.name}[/bold] ({s.code.value}{' / ' + s.variant if s.variant else ''}) — confidence {s.confidence}"
    reasons = [Text(f"• {r.text}") for r in s.reasons]
    reasons += [Text(f"  source: {sources_line(r.basis.sources)}", style="dim") for r in s.reasons]
    if s.alternatives:
        reasons.append(
            Text(
                "Alternatives: "
                + "; ".join(
                    f"{x.code.value}{'/' + x.variant if x.variant else ''} ({x.confidence})"
                    for x in s.alternatives
                )
            )
        )
    reasons += [Text(f"What would change the call: {w}", style="dim") for w in s.would_change]
    console.print(Panel(Group(Text.from_markup(head), *reasons), title="Subtype"))
    if a.differential:
        dt = Table(title="Differential (weighed findings)", expand=True)
        for col in ("#", "Candidate", "Score", "Confidence", "Supporting / opposing / undecided"):
            dt.add_column(col)
        for c in a.differential:
            lines = [f"+ {f.text} ({f.weight})" for f in c.supporting]
            lines += [f"− {f.text} ({f.weight})" for f in c.opposing]
            lines += [f"? {f.text} (needs: {', '.join(f.tests)})" for f in c.missing]
            dt.add_row(
                str(c.rank), f"{c.name}\n[dim]{c.key}[/dim]", str(c.score), c.confidence, "\n".join(lines)
            )
        console.print(dt)
        if a.next_test is not None:
            console.print(f"[bold]Next test:[/bold] {a.next_test.name} — {a.next_test.why}")
    for r in a.risk_profile:
        console.print(
            Panel(
                f"{r.watch_for}\n[dim]Source: {sources_line(r.basis.sources)}[/dim]",
                title=f"At risk ({', '.join(x.value for x in r.subtypes)})",
            )
        )

    wt = Table(title="Work-up", show_lines=False, expand=True)
    wt.add_column("Status", no_wrap=True)
    wt.add_column("Investigation")
    wt.add_column("Why / result")
    for w in a.workup:
        label, style = STATUS_MARK[w.status]
        wt.add_row(Text(label, style=style), w.name, (w.result + " — " if w.result else "") + w.why)
    console.print(wt)

    tt = Table(title="Therapy options (best first)", show_lines=True, expand=True)
    for col in ("#", "Therapy", "Stance", "Line", "Level", "Rationale, cautions, basis"):
        tt.add_column(col)
    for t in a.therapies:
        body = [*t.rationale]
        shown = [
            c for c in t.cautions if c.patient_specific or (not c.applies_when and c.severity in SHOWN_ALWAYS)
        ]
        body += [
            f"⚠ {'FOR THIS PATIENT ' if c.patient_specific else ''}{c.severity}: {c.text}" for c in shown
        ]
        others = len(t.cautions) - len(shown)
        if others:
            body.append(
                f"(+{others} other caution{'s' if others > 1 else ''} not triggered for this patient: see --format markdown or json)"
            )
        body += [f"⇄ {k.topic}: {' vs '.join(k.positions)}" for k in t.conflicts]
        body += label_lines(t.label_facts)
        body.append(f"Basis: {sources_line(t.basis.sources)}")
        tt.add_row(
            str(t.rank),
            t.name,
            Text(t.stance.value, style=STANCE_STYLE[t.stance]),
            t.line or "–",
            (t.evidence_level.value if t.evidence_level else "–")
            + ("" if t.evidence.shown_from == "derived" else "*"),
            "\n".join(body),
        )
    console.print(tt)
    console.print(Text("* level stated by a source; no verified study recorded to derive it", style="dim"))
    if not a.calcinosis.recorded:
        console.print("[bold]No therapy options:[/bold] no calcinosis is recorded.")
    for m in a.medication_safety:
        console.print(f"[bold]{m.medication}[/bold] (current): " + " | ".join(label_lines(m.facts)))
    if a.input_issues:
        console.print(
            "[bold]Input not used:[/bold] " + "; ".join(f"{i.location}: {i.message}" for i in a.input_issues)
        )
    k = a.knowledge
    console.print(
        Text(
            f"Knowledge pack {k.version} (hash {k.content_hash[:12]}), last reviewed {k.last_reviewed}",
            style="dim",
        )
    )


def print_ladder(pack: KnowledgePack, console: Console, setting: str | None = None) -> None:
    table = Table(
        title=f"Evidence ladder{' — ' + pack.settings[setting].name if setting else ''}", expand=True
    )
    for col in ("Therapy", "Lines stated", "Derived", "Stated by sources", "Studies", "Conflicts"):
        table.add_column(col)
    for t in ladder(pack, setting):
        ev = evidence_of(t, pack)
        table.add_row(
            f"{t.name}\n[dim]{t.id}[/dim]",
            "\n".join(f"{ln.line.value} ({pack.sources[ln.source.source].short})" for ln in t.lines) or "–",
            ev.derived.value if ev.derived else "–",
            "\n".join(f"{s.level} {s.scale} ({s.source.short})" for s in ev.stated) or "–",
            str(ev.studies) + (f" (max N={ev.largest_n})" if ev.largest_n else ""),
            str(len(pack.all_conflicts(t.id)) or "–"),
        )
    console.print(table)
    console.print(Text(pack.meta.grading_system, style="dim"))
