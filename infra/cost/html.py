"""A cost report as one self-contained HTML page: headline figures, an inline SVG donut of cost per service, a
stacked bar per region (hourly and usage) and every component. No script, no external resource."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import jinja2

from infra.cost.render import heading, money, unit_price, unpriced_notes
from infra.cost.report import Report

TEMPLATES = Path(__file__).parent / "templates"
# Colour-blind-safe palette (Okabe-Ito), then greys for the long tail.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
TAIL = "#9aa3ad"
KIND_COLORS = {"hourly": "#0072B2", "usage": "#E69F00"}
RADIUS, HOLE = 120, 70
BAR_WIDTH, LABEL_WIDTH = 360, 110


@dataclass(frozen=True)
class Slice:
    label: str
    value: float
    percent: float
    color: str
    path: str


def _point(angle: float, radius: float) -> str:
    # Angles run clockwise from twelve o'clock.
    return f"{radius * math.sin(angle):.2f} {-radius * math.cos(angle):.2f}"


def donut(values: dict[str, float]) -> list[Slice]:
    """Ring segments, one per key, in the order given; a lone key draws a full ring as two halves."""
    total = sum(values.values())
    slices: list[Slice] = []
    start = 0.0
    for index, (label, value) in enumerate(values.items()):
        if value <= 0 or total <= 0:
            continue
        sweep = min(value / total * 2 * math.pi, 2 * math.pi - 1e-4)
        end = start + sweep
        large = 1 if sweep > math.pi else 0
        path = (
            f"M {_point(start, RADIUS)} A {RADIUS} {RADIUS} 0 {large} 1 {_point(end, RADIUS)} "
            f"L {_point(end, HOLE)} A {HOLE} {HOLE} 0 {large} 0 {_point(start, HOLE)} Z"
        )
        color = PALETTE[index] if index < len(PALETTE) else TAIL
        slices.append(Slice(label, value, 100 * value / total, color, path))
        start = end
    return slices


def region_bars(report: Report) -> dict[str, object]:
    """Horizontal bars scaled to the costliest region, each split into its hourly and usage parts."""
    per_region: dict[str, dict[str, float]] = {}
    for resource, component in report.components():
        kinds = per_region.setdefault(resource.region or "global", {"hourly": 0.0, "usage": 0.0})
        kinds[component.kind] += component.monthly
    largest = max((sum(k.values()) for k in per_region.values()), default=0.0) or 1.0
    rows = []
    for index, (region, kinds) in enumerate(sorted(per_region.items(), key=lambda item: -sum(item[1].values()))):
        x, parts = float(LABEL_WIDTH), []
        for kind in ("hourly", "usage"):
            width = kinds[kind] / largest * BAR_WIDTH
            parts.append(
                {
                    "x": f"{x:.1f}",
                    "width": f"{width:.1f}",
                    "color": KIND_COLORS[kind],
                    "kind": kind,
                    "value": kinds[kind],
                }
            )
            x += width
        rows.append({"label": region, "y": 10 + index * 30, "parts": parts, "end": x, "value": sum(kinds.values())})
    return {"rows": rows, "width": LABEL_WIDTH + BAR_WIDTH + 110, "height": 20 + 30 * max(1, len(rows))}


def as_html(report: Report) -> str:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    rows = sorted(report.components(), key=lambda pair: (-pair[1].monthly, pair[0].name))
    return environment.get_template("report.html.j2").render(
        report=report,
        heading=heading(report),
        money=money,
        unit_price=unit_price,
        donut=donut(report.by_service()),
        bars=region_bars(report),
        kind_colors=KIND_COLORS,
        rows=rows,
        notes=unpriced_notes(report),
    )
