"""A patient's timeline as inline SVG, drawn on the server: lesion burden over time (count, largest size,
SCTC score, pain), one line per site, with the treatment courses as bars beneath and adverse events marked.

Same house style as ``chart.py``: escaped text only, a <title>/<desc> summary, a <title> on every mark; the
visit and course tables on the page carry the same data in text.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from calcinosis.registry.records import AdverseEventRecord, CourseRecord, MeasurementRecord

WIDTH = 760
LEFT, RIGHT, TOP = 180, 24, 12
PANEL_H, PANEL_GAP = 62, 16
LANE_H = 22
AXIS_H = 26
SERIES = 6  # series-0 … series-5 in app.css


@dataclass(frozen=True)
class Panel:
    field: str
    label: str
    unit: str
    fixed_max: float | None = None


PANELS = (
    Panel("count", "Lesions", "count"),
    Panel("largest_mm", "Largest size", "mm"),
    Panel("sctc_score", "SCTC score", "score"),
    Panel("pain_vas", "Pain", "VAS 0–10", 10.0),
)


@dataclass(frozen=True)
class CourseBar:
    course: CourseRecord
    name: str
    events: tuple[AdverseEventRecord, ...]
    response: str | None


def _span(
    visits: Sequence[MeasurementRecord], bars: Sequence[CourseBar], today: dt.date
) -> tuple[dt.date, dt.date]:
    days = [m.date for m in visits] + [b.course.start for b in bars]
    days += [b.course.stop or today for b in bars] + [e.date for b in bars for e in b.events]
    if not days:
        return today - dt.timedelta(days=365), today
    low, high = min(days), max(days)
    pad = max(14, (high - low).days // 20)
    return low - dt.timedelta(days=pad), high + dt.timedelta(days=pad)


def _ticks(x0: dt.date, x1: dt.date) -> list[dt.date]:
    months = (x1.year - x0.year) * 12 + x1.month - x0.month
    step = next(s for s in (1, 2, 3, 6, 12, 24, 60) if months / s <= 8)
    out: list[dt.date] = []
    y, m = x0.year, x0.month
    while True:
        m += 1
        if m > 12:
            y, m = y + 1, 1
        day = dt.date(y, m, 1)
        if day > x1:
            return out
        if ((y * 12 + m - 1) % step) == 0:
            out.append(day)


def _nice(v: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above ``v`` (at least 1): a readable top of the scale."""
    if v <= 1:
        return 1.0
    exp = math.floor(math.log10(v))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        top: float = step * 10.0**exp
        if top >= v:
            return top
    return 10.0 ** (exp + 1)


def _fmt(v: float) -> str:
    return f"{v:g}"


def timeline_svg(
    visits: Sequence[MeasurementRecord], bars: Sequence[CourseBar], title: str, today: dt.date | None = None
) -> Markup:
    today = today or dt.date.today()
    panels = [p for p in PANELS if any(getattr(m, p.field) is not None for m in visits)]
    sites = sorted({m.site or "whole patient" for m in visits})
    series = {s: i % SERIES for i, s in enumerate(sites)}
    x0, x1 = _span(visits, bars, today)
    plot_w = WIDTH - LEFT - RIGHT
    span = max(1, (x1 - x0).days)

    def x_of(day: dt.date) -> float:
        return LEFT + (day - x0).days / span * plot_w

    lanes_top = TOP + len(panels) * (PANEL_H + PANEL_GAP)
    axis_y = lanes_top + max(1, len(bars)) * LANE_H + 6
    legend_y = axis_y + AXIS_H
    height = legend_y + (18 if sites else 0) + 6
    events = sum(len(b.events) for b in bars)
    first = min((m.date for m in visits), default=None)
    last = max((m.date for m in visits), default=None)
    desc = (
        f"{len({m.date for m in visits})} visit date(s)"
        + (f" from {first} to {last}" if first else "")
        + f"; {len(bars)} course(s); {events} adverse event(s). Panels: "
        + (", ".join(f"{p.label} ({p.unit})" for p in panels) or "none measured")
        + ". Courses are drawn as bars beneath, adverse events as triangles on their course."
    )
    out = [
        f'<svg class="timeline-chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="timeline-title timeline-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="timeline-title">{escape(title)}</title>',
        f'<desc id="timeline-desc">{escape(desc)}</desc>',
    ]
    for day in _ticks(x0, x1):
        x = x_of(day)
        out.append(f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{axis_y}"/>')
        out.append(
            f'<text class="axis" x="{x:.1f}" y="{axis_y + 16}" text-anchor="middle">{day:%Y-%m}</text>'
        )
    if x0 <= today <= x1:
        x = x_of(today)
        out.append(
            f'<line class="today" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{axis_y}"><title>today ({today})</title></line>'
        )
    for i, p in enumerate(panels):
        top = TOP + i * (PANEL_H + PANEL_GAP)
        values = [float(getattr(m, p.field)) for m in visits if getattr(m, p.field) is not None]
        vmax = p.fixed_max or _nice(max(values) * 1.1)

        def y_of(v: float, top: int = top, vmax: float = vmax) -> float:
            return top + PANEL_H - v / vmax * PANEL_H

        out.append(f'<g class="panel" data-field="{p.field}">')
        out.append(f'<rect class="frame" x="{LEFT}" y="{top}" width="{plot_w}" height="{PANEL_H}"/>')
        out.append(
            f'<text class="label" x="{LEFT - 8}" y="{top + 16}" text-anchor="end">{escape(p.label)}</text>'
        )
        out.append(
            f'<text class="axis" x="{LEFT - 8}" y="{top + 30}" text-anchor="end">{escape(p.unit)}</text>'
        )
        out.append(f'<text class="axis" x="{LEFT - 8}" y="{top + PANEL_H}" text-anchor="end">0</text>')
        out.append(f'<text class="axis" x="{LEFT + 4}" y="{top + 11}">{_fmt(round(vmax, 1))}</text>')
        for site in sites:
            points = sorted(
                (
                    m
                    for m in visits
                    if (m.site or "whole patient") == site and getattr(m, p.field) is not None
                ),
                key=lambda m: m.date,
            )
            if not points:
                continue
            cls = f"series-{series[site]}"
            coords = " ".join(f"{x_of(m.date):.1f},{y_of(float(getattr(m, p.field))):.1f}" for m in points)
            if len(points) > 1:
                out.append(f'<polyline class="line {cls}" points="{coords}"/>')
            for m in points:
                value = float(getattr(m, p.field))
                tip = f"{site}, {m.date}: {p.label.lower()} {_fmt(value)} {p.unit}"
                out.append(
                    f'<circle class="point {cls}" cx="{x_of(m.date):.1f}" cy="{y_of(value):.1f}" r="3.5">'
                    f"<title>{escape(tip)}</title></circle>"
                )
        out.append("</g>")
    for j, b in enumerate(bars):
        y = lanes_top + j * LANE_H
        c = b.course
        end = c.stop or today
        x_start, x_end = x_of(c.start), max(x_of(end), x_of(c.start) + 3)
        running = c.stop is None
        label = b.name if len(b.name) <= 24 else b.name[:23] + "…"
        tip = (
            f"{b.name}: {c.start} to {c.stop or 'now (running)'}"
            + (f", stopped: {c.stop_reason}" if c.stop_reason else "")
            + (f"; response: {b.response}" if b.response else "")
        )
        out.append(f'<g class="course{" running" if running else ""}" data-course="{c.id}">')
        out.append(
            f'<text class="label" x="{LEFT - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
        )
        out.append(
            f'<rect class="bar response-{escape(b.response or "unknown")}" x="{x_start:.1f}" y="{y + 4}" '
            f'width="{x_end - x_start:.1f}" height="{LANE_H - 8}" rx="3"><title>{escape(tip)}</title></rect>'
        )
        for e in b.events:
            x = x_of(e.date)
            etip = f"Adverse event {e.date}: {e.description}" + (f" ({e.severity})" if e.severity else "")
            out.append(
                f'<path class="adverse-event" d="M{x:.1f},{y + 1} l6,11 h-12 z"><title>{escape(etip)}</title></path>'
            )
        out.append("</g>")
    if not bars:
        out.append(f'<text class="axis" x="{LEFT}" y="{lanes_top + 15}">No treatment course recorded.</text>')
    x = LEFT
    for site in sites:
        cls = f"series-{series[site]}"
        out.append(f'<circle class="point {cls}" cx="{x + 4}" cy="{legend_y + 6}" r="4"/>')
        out.append(f'<text class="axis" x="{x + 12}" y="{legend_y + 10}">{escape(site)}</text>')
        x += 20 + 7 * len(site)
    out.append("</svg>")
    return Markup("".join(out))  # every interpolated text is escaped above
