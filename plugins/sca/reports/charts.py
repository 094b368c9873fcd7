"""Small SVG charts for the html reports, written as strings: no JavaScript, no fonts, no external
assets, so a page that inlines them opens offline and with scripts switched off.

Every chart is ``<svg class="chart" id=… role="img" viewBox=… width=… height=…>`` with a
``<title>``, axis labels and one element of class ``mark`` per data point (a ``rect`` for a bar, a
``circle`` for a point on a line), each with its own ``<title>`` tooltip. A chart with no data is
still a well-formed svg, holding a visible text of class ``empty``. Every label is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

PALETTE = ("#0969da", "#cf222e", "#9a6700", "#8250df", "#1a7f37", "#bc4c00", "#57606a")
ADDED_COLOUR = "#bc4c00"
GONE_COLOUR = "#1a7f37"
WIDTH = 600
LABEL_WIDTH = 190
ROW_HEIGHT = 22
BAR_HEIGHT = 15
TOP = 34
LABEL_CHARS = 28


def esc(value: object) -> str:
    """Text or attribute value, escaped (quotes too)."""
    return html.escape(str(value), quote=True)


def fmt(value: float) -> str:
    """A count as ``1,234``; anything fractional keeps up to three significant decimals."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.3g}"


def short(label: str, limit: int = LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _open(chart_id: str, title: str, width: int, height: int) -> str:
    return (
        f'<svg class="chart" id="{esc(chart_id)}" role="img" aria-labelledby="{esc(chart_id)}-title" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" font-family="sans-serif" font-size="12">'
        f'<title id="{esc(chart_id)}-title">{esc(title)}</title>'
        f'<text class="chart-title" x="4" y="16" font-size="14" font-weight="bold">{esc(title)}</text>'
    )


def empty_chart(chart_id: str, title: str, message: str = "no data", width: int = WIDTH) -> str:
    """A chart frame that says why there is nothing to draw."""
    height = 90
    return (
        _open(chart_id, title, width, height)
        + f'<rect x="1" y="26" width="{width - 2}" height="{height - 28}" fill="#f6f8fa" stroke="#d0d7de"/>'
        + f'<text class="empty" x="{width // 2}" y="{height // 2 + 14}" text-anchor="middle" fill="#57606a">'
        + f"{esc(message)}</text></svg>"
    )


def _scale(maximum: float) -> float:
    return maximum if maximum > 0 else 1.0


def bar_chart(
    chart_id: str,
    title: str,
    data: Sequence[tuple[str, float]],
    *,
    value_label: str = "count",
    colours: Sequence[str] | None = None,
    empty: str = "no data",
    width: int = WIDTH,
) -> str:
    """Horizontal bars, one per (label, value), in the given order. ``colours`` (one per bar)
    overrides the default single colour."""
    if not data:
        return empty_chart(chart_id, title, empty, width)
    plot = width - LABEL_WIDTH - 60
    height = TOP + ROW_HEIGHT * len(data) + 30
    top = max(value for _, value in data)
    unit = plot / _scale(top)
    parts = [_open(chart_id, title, width, height)]
    for i, (label, value) in enumerate(data):
        y = TOP + i * ROW_HEIGHT
        bar = max(value, 0) * unit
        colour = colours[i] if colours else PALETTE[0]
        parts.append(
            f'<text class="label" x="{LABEL_WIDTH - 6}" y="{y + 12}" text-anchor="end">{esc(short(label))}</text>'
            f'<rect class="mark" x="{LABEL_WIDTH}" y="{y}" width="{bar:.1f}" height="{BAR_HEIGHT}" '
            f'fill="{esc(colour)}">'
            f"<title>{esc(label)}: {fmt(value)}</title></rect>"
            f'<text class="value" x="{LABEL_WIDTH + bar + 4:.1f}" y="{y + 12}">{fmt(value)}</text>'
        )
    axis_y = TOP + ROW_HEIGHT * len(data)
    parts.append(
        f'<line x1="{LABEL_WIDTH}" y1="{TOP - 4}" x2="{LABEL_WIDTH}" y2="{axis_y}" stroke="#57606a"/>'
        f'<text class="axis-label" x="{LABEL_WIDTH + plot // 2}" y="{axis_y + 20}" text-anchor="middle" '
        f'fill="#57606a">{esc(value_label)} (max {fmt(top)})</text></svg>'
    )
    return "".join(parts)


def diverging_bar_chart(
    chart_id: str,
    title: str,
    rows: Sequence[tuple[str, tuple[str, float], tuple[str, float]]],
    *,
    left_label: str = "gone",
    right_label: str = "added",
    empty: str = "no data",
    width: int = WIDTH,
) -> str:
    """One row per label with a bar to the left and a bar to the right of a shared zero line:
    ``(label, (left name, left value), (right name, right value))``. A side whose value is zero
    draws no mark; rows with nothing on either side are left out, and no rows at all gives the
    empty chart."""
    shown = [row for row in rows if row[1][1] > 0 or row[2][1] > 0]
    if not shown:
        return empty_chart(chart_id, title, empty, width)
    label_width = 110
    half = (width - label_width - 20) / 2
    zero = label_width + half
    height = TOP + 16 + ROW_HEIGHT * len(shown) + 30
    top = max(max(left[1], right[1]) for _, left, right in shown)
    unit = (half - 55) / _scale(top)  # room for the value text beside the longest bar
    parts = [
        _open(chart_id, title, width, height),
        f'<text class="axis-label" x="{zero - 6:.1f}" y="{TOP + 8}" text-anchor="end" fill="{GONE_COLOUR}">'
        f"← {esc(left_label)}</text>"
        f'<text class="axis-label" x="{zero + 6:.1f}" y="{TOP + 8}" fill="{ADDED_COLOUR}">{esc(right_label)} →</text>',
    ]
    for i, (label, (left_name, left), (right_name, right)) in enumerate(shown):
        y = TOP + 16 + i * ROW_HEIGHT
        parts.append(
            f'<text class="label" x="{label_width - 6}" y="{y + 12}" text-anchor="end">{esc(short(label, 16))}</text>'
        )
        if left > 0:
            bar = left * unit
            parts.append(
                f'<rect class="mark" x="{zero - bar:.1f}" y="{y}" width="{bar:.1f}" height="{BAR_HEIGHT}" '
                f'fill="{GONE_COLOUR}"><title>{esc(left_name)}: {fmt(left)}</title></rect>'
                f'<text class="value" x="{zero - bar - 4:.1f}" y="{y + 12}" text-anchor="end">{fmt(left)}</text>'
            )
        if right > 0:
            bar = right * unit
            parts.append(
                f'<rect class="mark" x="{zero:.1f}" y="{y}" width="{bar:.1f}" height="{BAR_HEIGHT}" '
                f'fill="{ADDED_COLOUR}"><title>{esc(right_name)}: {fmt(right)}</title></rect>'
                f'<text class="value" x="{zero + bar + 4:.1f}" y="{y + 12}">{fmt(right)}</text>'
            )
    axis_y = TOP + 16 + ROW_HEIGHT * len(shown)
    parts.append(
        f'<line x1="{zero:.1f}" y1="{TOP + 12}" x2="{zero:.1f}" y2="{axis_y}" stroke="#57606a"/>'
        f'<text class="axis-label" x="{zero:.1f}" y="{axis_y + 20}" text-anchor="middle" fill="#57606a">'
        f"count (max {fmt(top)})</text></svg>"
    )
    return "".join(parts)


def _date_ticks(count: int, most: int = 6) -> list[int]:
    """Indices of the x positions that get a date label: first, last and evenly between."""
    if count <= most:
        return list(range(count))
    step = (count - 1) / (most - 1)
    return sorted({round(i * step) for i in range(most)})


def date_labels(dates: Sequence[str]) -> list[str]:
    """ISO timestamps as axis labels: the day, or the day and time when two nights share a day."""
    days = [d[:10] for d in dates]
    if len(set(days)) == len(days):
        return days
    return [d[:16].replace("T", " ") for d in dates]


def line_chart(
    chart_id: str,
    title: str,
    dates: Sequence[str],
    panels: Sequence[tuple[str, Mapping[str, Sequence[float]]]],
    *,
    empty: str = "no data",
    width: int = WIDTH,
) -> str:
    """Lines over the nights, as panels stacked on one shared date axis: each panel
    ``(name, {series: values})`` has its own y scale (findings and packages differ by orders of
    magnitude). Each value is a ``circle.mark``; the line joining a series is a plain path."""
    if not dates or not panels:
        return empty_chart(chart_id, title, empty, width)
    left, right, panel_h, gap = 70, 110, 110, 26
    plot_w = width - left - right
    height = TOP + len(panels) * (panel_h + gap) + 24
    step = plot_w / (len(dates) - 1) if len(dates) > 1 else 0.0
    xs = [left + (i * step if len(dates) > 1 else plot_w / 2) for i in range(len(dates))]
    labels = date_labels(dates)
    parts = [_open(chart_id, title, width, height)]
    colour_index = 0
    for p, (panel, series) in enumerate(panels):
        y0 = TOP + p * (panel_h + gap) + 10
        base = y0 + panel_h
        top = max((max(values, default=0) for values in series.values()), default=0)
        unit = (panel_h - 8) / _scale(top)
        parts.append(
            f'<text class="axis-label" x="{left - 8}" y="{y0 + 4}" text-anchor="end" fill="#57606a">{fmt(top)}</text>'
            f'<text class="axis-label" x="{left - 8}" y="{base}" text-anchor="end" fill="#57606a">0</text>'
            f'<text class="axis-label" x="{left - 40}" y="{y0 + panel_h / 2:.1f}" text-anchor="middle" '
            f'transform="rotate(-90 {left - 40} {y0 + panel_h / 2:.1f})">{esc(short(panel, 18))}</text>'
            f'<line x1="{left}" y1="{y0}" x2="{left}" y2="{base}" stroke="#57606a"/>'
            f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="#57606a"/>'
        )
        for s, (name, values) in enumerate(series.items()):
            colour = PALETTE[colour_index % len(PALETTE)]
            colour_index += 1
            points = [(xs[i], base - max(v, 0) * unit) for i, v in enumerate(values[: len(xs)])]
            if not points:
                continue
            path = "M" + " L".join(f"{x:.1f} {y:.1f}" for x, y in points)
            parts.append(f'<path class="series" d="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
            parts += [
                f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                f"<title>{esc(name)} {esc(labels[i])}: {fmt(values[i])}</title></circle>"
                for i, (x, y) in enumerate(points)
            ]
            legend_y = y0 + 6 + s * 16
            parts.append(
                f'<rect x="{left + plot_w + 12}" y="{legend_y - 8}" width="10" height="10" fill="{colour}"/>'
                f'<text class="legend" x="{left + plot_w + 26}" y="{legend_y + 1}">{esc(short(name, 14))}</text>'
            )
    last_base = TOP + (len(panels) - 1) * (panel_h + gap) + 10 + panel_h
    parts += [
        f'<text class="axis-label" x="{xs[i]:.1f}" y="{last_base + 16}" text-anchor="middle" fill="#57606a">'
        f"{esc(labels[i])}</text>"
        for i in _date_ticks(len(dates))
    ]
    parts.append("</svg>")
    return "".join(parts)
