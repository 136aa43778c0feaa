"""Server-rendered SVG charts for the editors' page: no script, no external asset, no inline
style (the page's Content-Security-Policy allows none): presentation attributes only.

Each function returns one ``<svg>`` element as text, every value escaped; the charts scale to
their container (``viewBox`` and ``width="100%"``), so a phone shows them without overflow.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from html import escape

# Colour-blind-safe (Okabe–Ito), in order of the feeds' rank.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28
BAR_HEIGHT, BAR_GAP, LABEL_WIDTH = 26, 8, 190


def _nice_max(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2 or 5 times a power of ten)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return max(1, step * factor)
        step *= 10


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    label = escape(title)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{label}" class="chart" '
        f'font-family="system-ui, sans-serif" font-size="14">'
        f"<title>{label}</title>" + "".join(body) + "</svg>"
    )


def line_chart(
    title: str, series: Sequence[tuple[str, Sequence[tuple[date, int]]]], today: date, days: int
) -> str:
    """Daily values of several series over the ``days`` days ending ``today``."""
    start = today - timedelta(days=days - 1)
    top = _nice_max(max((v for _n, points in series for d, v in points if d >= start), default=1))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: date) -> float:
        return LEFT + plot_w * (day - start).days / max(1, days - 1)

    def y(value: int) -> float:
        return TOP + plot_h * (1 - value / top)

    body = [
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
        'stroke="#ccc"/>'
    ]
    for tick in (0, top // 2, top):
        body.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            'stroke="#e5e5e5"/>'
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" fill="#555">'
            f"{tick:,}</text>"
        )
    for day, anchor in ((start, "start"), (today, "end")):
        body.append(
            f'<text x="{x(day):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}" fill="#555">'
            f"{day.isoformat()}</text>"
        )
    for index, (name, points) in enumerate(series):
        shown = [(d, v) for d, v in points if d >= start]
        colour = PALETTE[index % len(PALETTE)]
        if not shown:
            continue
        coords = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in shown)
        body.append(
            f'<polyline class="series" fill="none" stroke="{colour}" stroke-width="2" '
            f'points="{coords}"><title>{escape(name)}</title></polyline>'
        )
        for d, v in shown[-1:]:
            body.append(f'<circle cx="{x(d):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"/>')
    return _svg(WIDTH, HEIGHT, title, body)


def bar_chart(title: str, bars: Sequence[tuple[str, int]], unit: str = "") -> str:
    """Horizontal bars, one per (label, value), longest first as given."""
    height = TOP + max(1, len(bars)) * (BAR_HEIGHT + BAR_GAP) + 4
    top = _nice_max(max((v for _l, v in bars), default=1))
    plot_w = WIDTH - LABEL_WIDTH - RIGHT - 70
    body = []
    for index, (label, value) in enumerate(bars):
        y = TOP + index * (BAR_HEIGHT + BAR_GAP)
        width = plot_w * value / top
        colour = PALETTE[index % len(PALETTE)]
        body.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR_HEIGHT * 0.7:.1f}" text-anchor="end" '
            f'fill="#222">{escape(label[:28])}</text>'
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{max(width, 1):.1f}" '
            f'height="{BAR_HEIGHT}" fill="{colour}"><title>{escape(label)}: {value:,}'
            f"{escape(unit)}</title></rect>"
            f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + BAR_HEIGHT * 0.7:.1f}" '
            f'fill="#222">{value:,}{escape(unit)}</text>'
        )
    if not bars:
        body.append(f'<text x="{LABEL_WIDTH}" y="{TOP + 14}" fill="#555">no figures yet</text>')
    return _svg(WIDTH, height, title, body)
