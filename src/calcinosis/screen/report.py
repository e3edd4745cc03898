"""``OUT_DIR/report.html``: what a screen found and what it cost, in one self-contained page."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from calcinosis.screen.backends.base import ScanCounts
from calcinosis.screen.charts import bar_chart
from calcinosis.screen.outputs import Tally

TOP = 15
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;max-width:1000px;color:#1d2433}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccd}h3{font-size:1rem}
table{border-collapse:collapse}td,th{padding:.2rem .8rem;text-align:left;border-bottom:1px solid #e3e6ee}
td.n{text-align:right;font-variant-numeric:tabular-nums}.note{color:#555;font-size:.9rem}
.warn{color:#b3261e;font-weight:600}.empty{color:#777}
"""

SUBTYPE_NOTE = (
    '<p class="note">Every picked patient is assessed as <code>calcinosis assess</code> would assess them. '
    "A subtype is called only where calcinosis is recorded (a lesion, a calcinosis diagnosis, imaging or "
    "histology). Patients picked for their risk context alone (kidney or connective tissue disease, vitamin K "
    "antagonists, IV calcium) are counted apart as <em>at risk, no calcinosis recorded</em>, with the risks "
    "they carry; they get no subtype and no therapy list.</p>"
)


@dataclass
class RunFigures:
    """Timings, sizes and resources of one run, shown in the report and returned to the caller."""

    engine: str
    export_dir: str
    export_bytes: int
    files_read: list[str]
    files_not_read: list[str]
    workers: int
    check_seconds: float = 0.0
    scan_seconds: float = 0.0
    assess_seconds: float = 0.0
    total_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    pack: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    # (file, resource type, reason, detail) of each file set aside whole or in part
    files_set_aside: list[tuple[str, str, str, str]] = field(default_factory=list)
    # (resource type, what every assessment says) of each type missing by leave (--allow-missing)
    missing: list[tuple[str, str]] = field(default_factory=list)
    incomplete: int = 0  # assessments made without part of the export (they say which)
    selection_gaps: list[str] = field(default_factory=list)  # selector types not read in full


def _gaps(figures: RunFigures) -> str:
    """The input section's account of damaged, unreadable and missing files."""
    parts = []
    if figures.files_set_aside:
        rows = "".join(
            f"<tr><td>{escape(f)}</td><td>{escape(t)}</td><td>{escape(r)}</td><td>{escape(d)}</td></tr>"
            for f, t, r, d in figures.files_set_aside
        )
        parts.append(
            "<h3>Files set aside</h3><table><tr><th>File</th><th>Type</th><th>Reason</th><th>Detail</th></tr>"
            f"{rows}</table>"
        )
    if figures.missing:
        rows = "".join(f"<tr><th>{escape(t)}</th><td>{escape(m)}</td></tr>" for t, m in figures.missing)
        parts.append(f"<h3>Missing from the export (allowed missing)</h3><table>{rows}</table>")
    return "".join(parts)


def _table(rows: list[tuple[str, str]]) -> str:
    body = "".join(f'<tr><th>{escape(k)}</th><td class="n">{escape(v)}</td></tr>' for k, v in rows)
    return f"<table>{body}</table>"


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s" if seconds > 0 else "n/a"


def render_report(
    figures: RunFigures,
    counts: ScanCounts,
    tally: Tally,
    quarantined: dict[str, int],
    not_assessable: int,
    disclaimer: str,
) -> str:
    """The report page as HTML text. Pure."""
    n = tally.assessed
    set_aside = sum(quarantined.values())
    overview = _table(
        [
            ("Patients in the export", f"{counts.patients_in_export:,}"),
            ("Resources read", f"{counts.resources_read:,}"),
            ("Patients picked for screening", f"{counts.patients_selected:,}"),
            ("Patients assessed", f"{n:,}"),
            ("Assessed cases: calcinosis recorded, subtype called", f"{tally.with_calcinosis:,}"),
            ("At risk, no calcinosis recorded (no subtype called)", f"{tally.at_risk_no_calcinosis:,}"),
            ("Assessed patients whose assessment used a recorded lesion", f"{tally.with_lesion:,}"),
            ("Patients the FHIR reader could not assess", f"{not_assessable:,}"),
            ("Lines, files and patients set aside (quarantine/)", f"{set_aside:,}"),
            ("Files set aside (damaged or unreadable)", f"{len(figures.files_set_aside):,}"),
            ("Resource types missing (allowed)", ", ".join(t for t, _ in figures.missing) or "none"),
            ("Assessments on incomplete input", f"{figures.incomplete:,}"),
            ("Patients with a critical safety alert", f"{tally.critical_patients:,}"),
        ]
    )
    by_type = _table([(t, f"{c:,}") for t, c in sorted(counts.resources_by_type.items())])
    run = _table(
        [
            ("Engine", figures.engine),
            ("Assessment workers", str(figures.workers)),
            ("Export", figures.export_dir),
            ("Export size", f"{figures.export_bytes / 2**20:,.1f} MiB in {len(figures.files_read)} file(s)"),
            ("File check (gzip, UTF-8, line length)", f"{figures.check_seconds:,.2f} s"),
            ("Selection and grouping (engine)", f"{figures.scan_seconds:,.2f} s"),
            ("Reading and assessing (Python)", f"{figures.assess_seconds:,.2f} s"),
            ("Total", f"{figures.total_seconds:,.2f} s"),
            ("Resources per second", _rate(counts.resources_read, figures.total_seconds)),
            ("Export patients per second", _rate(counts.patients_in_export, figures.total_seconds)),
            ("Assessments per second", _rate(n, figures.total_seconds)),
            ("Peak memory (RSS, this process and its workers)", f"{figures.peak_rss_mb:,.0f} MiB"),
            ("Knowledge pack", figures.pack),
            *figures.extra.items(),
        ]
    )
    not_read = ""
    if figures.files_not_read:
        names = ", ".join(escape(Path(f).name) for f in figures.files_not_read)
        not_read = f'<p class="note">Files of other resource types, not read: {names}</p>'
    warn = (
        f'<p class="warn">{set_aside:,} line(s), file(s) or patient(s) were set aside: see quarantine/.</p>'
        if set_aside
        else ""
    )
    if figures.incomplete:
        warn += (
            f'<p class="warn">{figures.incomplete:,} assessment(s) were made without part of the export '
            "(files missing, damaged or unreadable; see Input); each says so among its input issues.</p>"
        )
    if figures.selection_gaps:
        warn += (
            f'<p class="warn">Selection did not read all of: {escape(", ".join(figures.selection_gaps))}. '
            "Patients picked only by the records not read are missing from this screen.</p>"
        )

    def labelled(kind: str, counter: dict[str, int], limit: int = TOP) -> list[tuple[str, int]]:
        top = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [(tally.label(kind, k), v) for k, v in top]

    sections = [
        bar_chart(
            "Subtype called (calcinosis recorded)",
            sorted(tally.subtypes.items()),
            total=tally.with_calcinosis,
        ),
        bar_chart(
            "Confidence of the subtype call",
            sorted(tally.confidence.items()),
            total=tally.with_calcinosis,
            color="muted",
        ),
        bar_chart(
            "At risk, no calcinosis recorded: risk contexts",
            labelled("risk", tally.risks),
            total=tally.at_risk_no_calcinosis,
            color="muted",
        ),
        bar_chart(f"Missing work-up (top {TOP})", labelled("workup", tally.workup_missing), total=n),
        bar_chart(
            f"First-ranked therapy option (top {TOP})", labelled("therapy", tally.top_therapy), total=n
        ),
        bar_chart(f"Options recommended (top {TOP})", labelled("therapy", tally.recommended), total=n),
        bar_chart(
            "Options to avoid for the patient", labelled("therapy", tally.avoid), total=n, color="warning"
        ),
        bar_chart("Safety alerts", labelled("alert", tally.alerts), total=n, color="critical"),
        bar_chart("Set aside, by reason", sorted(quarantined.items()), color="muted"),
    ]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Calcinosis screening report</title>"
        f"<style>{STYLE}</style></head><body>"
        "<h1>Calcinosis cutis: population screening report</h1>"
        f'<p class="note">{escape(disclaimer)}</p>{warn}'
        f"<h2>Overview</h2>{overview}"
        f"<h2>Findings</h2>{SUBTYPE_NOTE}{''.join(sections[:8])}"
        f"<h2>Input</h2>{by_type}{not_read}{_gaps(figures)}{sections[8]}"
        f"<h2>Run</h2>{run}"
        "</body></html>"
    )
