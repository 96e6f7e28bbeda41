"""Trend charts as inline SVG: stacked bars of answers by status per time slot, with the SLA
share as a line. No script and no front-end build: the server draws them."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from gateway.kpi import Summary
from gateway.protocol import STATUSES, Status

COLORS: dict[str, str] = {
    Status.ISSUED: "#2e7d32",
    Status.NOT_FOUND: "#1565c0",
    Status.REFUSED: "#ef6c00",
    Status.FAILED: "#c62828",
}
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 760, 200, 44, 24, 10


def trend(
    slots: Sequence[str],
    summaries: Mapping[str, Summary],
    labels: Mapping[str, str],
    *,
    tick_every: int,
    tick_label: slice,
    title: str,
) -> str:
    """One bar per slot (oldest first), stacked by status; the SLA share (0–100 %) as a line."""
    plot_w, plot_h = WIDTH - LEFT - 40, HEIGHT - BOTTOM - TOP
    peak = max([summaries[s].volume for s in slots if s in summaries] + [1])
    step = plot_w / max(len(slots), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" direction="ltr" role="img" aria-label="{html.escape(title)}">',
        f'<text x="4" y="{TOP + 8}" font-size="10">{peak}</text>',
        f'<text x="4" y="{TOP + plot_h}" font-size="10">0</text>',
        f'<text x="{WIDTH - 36}" y="{TOP + 8}" font-size="10">100 %</text>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#888"/>',
    ]
    line: list[str] = []
    for index, slot in enumerate(slots):
        x = LEFT + index * step
        summary = summaries.get(slot)
        if index % tick_every == 0:
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 6}" font-size="10">{html.escape(slot[tick_label])}</text>')
        if summary is None or summary.volume == 0:
            continue
        y = float(TOP + plot_h)
        tip = [slot] + [f"{labels[s]}: {summary.statuses[s]}" for s in STATUSES if summary.statuses[s]]
        p95 = summary.percentile(0.95)
        if p95 is not None:
            tip.append(f"p95 ≤ {p95:g} ms")
        for status in STATUSES:
            count = summary.statuses[status]
            if not count:
                continue
            height = plot_h * count / peak
            y -= height
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" height="{height:.1f}" '
                f'fill="{COLORS[status]}"><title>{html.escape(" · ".join(tip))}</title></rect>'
            )
        if summary.sla_percent is not None:
            line.append(f"{x + step / 2:.1f},{TOP + plot_h * (1 - summary.sla_percent / 100):.1f}")
    if len(line) > 1:
        parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="#6a1b9a" stroke-width="1.5"/>')
    parts.append("</svg>")
    return "".join(parts)


def legend(labels: Mapping[str, str], sla_label: str) -> str:
    items = "".join(f'<span><i style="background:{COLORS[s]}"></i>{html.escape(labels[s])}</span>' for s in STATUSES)
    return f'<p class="legend">{items}<span><i style="background:#6a1b9a"></i>{html.escape(sla_label)} (%)</span></p>'
