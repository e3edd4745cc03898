"""Horizontal bar charts as inline SVG: no scripts, fonts or assets from the internet."""

from __future__ import annotations

from html import escape

BAR_HEIGHT = 22
LABEL_WIDTH = 330
BAR_WIDTH = 420
PALETTE = {"default": "#3b6ea8", "critical": "#b3261e", "warning": "#c77700", "muted": "#7a869a"}


def bar_chart(
    title: str, items: list[tuple[str, int]], *, total: int | None = None, color: str = "default"
) -> str:
    """An SVG bar chart of (label, count) pairs, largest first; counts shown with their share of ``total``."""
    heading = f'<h3 class="chart-title">{escape(title)}</h3>'
    if not items:
        return heading + '<p class="empty">none</p>'
    items = sorted(items, key=lambda kv: (-kv[1], kv[0]))
    top = max(count for _, count in items) or 1
    height = BAR_HEIGHT * len(items) + 8
    width = LABEL_WIDTH + BAR_WIDTH + 120
    fill = PALETTE.get(color, PALETTE["default"])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
    ]
    for i, (label, count) in enumerate(items):
        y = 4 + i * BAR_HEIGHT
        length = max(1, round(BAR_WIDTH * count / top))
        share = f" ({100 * count / total:.1f}%)" if total else ""
        shown = label if len(label) <= 48 else label[:47] + "…"
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
            f"<title>{escape(label)}</title>{escape(shown)}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{length}" height="{BAR_HEIGHT - 6}" fill="{fill}"/>'
            f'<text x="{LABEL_WIDTH + length + 6}" y="{y + 15}" font-size="12">{count:,}{share}</text>'
        )
    parts.append("</svg>")
    return heading + "".join(parts)
