"""The evidence chart of one therapy: its recorded studies by year, A–E level and size, as inline SVG.

Built on the server from the pack's records; the study table beside it carries the same data in text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

ROWS = ("A", "B", "C", "D", "E", "?")
WIDTH, HEIGHT = 640, 250
LEFT, RIGHT, TOP, BOTTOM = 48, 70, 16, 40


@dataclass(frozen=True)
class StudyPoint:
    label: str
    year: int | None
    level: str | None
    n: int | None
    verified: bool


def _radius(n: int | None) -> float:
    return 5.0 if n is None else min(22.0, 4.0 + 2.2 * math.sqrt(n))


def _x_scale(years: Sequence[int]) -> tuple[int, int]:
    if not years:
        return 2000, 2020
    low, high = min(years), max(years)
    pad = max(2, (high - low) // 10)
    return low - pad, high + pad


def evidence_svg(points: Sequence[StudyPoint], title: str) -> Markup:
    """An accessible SVG: a <title>/<desc> summary and one titled circle per study."""
    years = [p.year for p in points if p.year is not None]
    x0, x1 = _x_scale(years)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    row_h = plot_h / len(ROWS)

    def x_of(year: int | None) -> float:
        if year is None:
            return WIDTH - RIGHT / 2
        return LEFT + (year - x0) / max(1, x1 - x0) * plot_w

    def y_of(level: str | None) -> float:
        return TOP + (ROWS.index(level if level in ROWS else "?") + 0.5) * row_h

    dated = sum(1 for p in points if p.year is not None)
    desc = (
        f"{len(points)} recorded stud{'y' if len(points) == 1 else 'ies'}"
        + (f" from {min(years)} to {max(years)}" if years else "")
        + f"; {len(points) - dated} without a year."
    )
    out = [
        f'<svg class="evidence-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(desc)} Vertical: level each study supports (A best; ? not '
        "gradable). Horizontal: year. Circle size: number of patients.</desc>",
    ]
    for i, row in enumerate(ROWS):
        y = TOP + (i + 0.5) * row_h
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(f'<text class="axis" x="{LEFT - 10}" y="{y + 4:.1f}" text-anchor="end">{row}</text>')
    step = max(1, round((x1 - x0) / 6))
    for year in range(x0, x1 + 1, step):
        x = x_of(year)
        out.append(f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>')
        out.append(
            f'<text class="axis" x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">{year}</text>'
        )
    out.append(
        f'<text class="axis" x="{WIDTH - RIGHT / 2:.1f}" y="{HEIGHT - BOTTOM + 18}" '
        'text-anchor="middle">year ?</text>'
    )
    for p in sorted(points, key=lambda p: -(p.n or 0)):
        cls = "study" + ("" if p.verified else " unverified") + ("" if p.n else " unsized")
        tip = f"{p.label} — {p.year or 'year not recorded'}; level {p.level or 'not gradable'}; " + (
            f"N={p.n}" if p.n else "size not recorded"
        )
        if not p.verified:
            tip += "; not verified (does not count towards the level)"
        out.append(
            f'<circle class="{cls}" cx="{x_of(p.year):.1f}" cy="{y_of(p.level):.1f}" '
            f'r="{_radius(p.n):.1f}"><title>{escape(tip)}</title></circle>'
        )
    out.append("</svg>")
    return Markup("".join(out))  # every interpolated text is escaped above
