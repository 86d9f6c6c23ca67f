"""Charts drawn on the server as inline SVG (no JavaScript, nothing the admin's strict CSP refuses:
colours are presentation attributes, hover text is SVG <title>)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

PALETTE = ("#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#475569", "#ea580c")
W, H = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 84, 12, 30, 28


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    color: str = ""


def colored(series: Sequence[Series]) -> list[Series]:
    return [s if s.color else Series(s.name, s.values, PALETTE[i % len(PALETTE)]) for i, s in enumerate(series)]


def _nice_step(span: float, ticks: int = 4) -> float:
    if span <= 0:
        return 1.0
    raw = span / ticks
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)


def _axis(lo: float, hi: float) -> tuple[float, float, list[float]]:
    step = _nice_step(hi - lo)
    lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step
    if hi == lo:
        hi = lo + step
    n = round((hi - lo) / step)
    return lo, hi, [lo + i * step for i in range(n + 1)]


def _frame(
    ticks: list[float],
    y: Callable[[float], float],
    fmt: Callable[[float], str],
    labels: Sequence[str],
    x_of: Callable[[int], float],
    series: Sequence[Series],
    title: str,
) -> list[str]:
    out = [
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for t in ticks:
        out.append(
            f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="{"#94a3b8" if t == 0 else "#e2e8f0"}"/>'
        )
        out.append(
            f'<text x="{LEFT - 6}" y="{y(t) + 4:.1f}" text-anchor="end" font-size="11" fill="#475569">{escape(fmt(t))}</text>'
        )
    every = max(1, math.ceil(len(labels) / 12))
    for i, label in enumerate(labels):
        if i % every == 0:
            out.append(
                f'<text x="{x_of(i):.1f}" y="{H - 8}" text-anchor="middle" font-size="11" fill="#475569">{escape(label)}</text>'
            )
    lx = LEFT
    for s in series:  # the legend, along the top
        out.append(f'<rect x="{lx}" y="8" width="10" height="10" fill="{s.color}"/>')
        out.append(f'<text x="{lx + 14}" y="17" font-size="11" fill="#334155">{escape(s.name)}</text>')
        lx += 24 + 7 * len(s.name)
    return out


def bar_chart(labels: Sequence[str], series: Sequence[Series], fmt: Callable[[float], str], title: str) -> Markup:
    """Stacked bars per label: positive values stack up from zero, negative ones down."""
    series = colored(series)
    n = max(1, len(labels))
    ups = [sum(max(0.0, s.values[i]) for s in series) for i in range(len(labels))]
    downs = [sum(min(0.0, s.values[i]) for s in series) for i in range(len(labels))]
    lo, hi, ticks = _axis(min([0.0, *downs]), max([0.0, *ups]))

    def y(v: float) -> float:
        return TOP + (hi - v) / (hi - lo) * (H - TOP - BOTTOM)

    slot = (W - LEFT - RIGHT) / n

    def x_of(i: int) -> float:
        return LEFT + slot * (i + 0.5)

    out = _frame(ticks, y, fmt, labels, x_of, series, title)
    bar = max(2.0, slot * 0.6)
    for i, label in enumerate(labels):
        up = down = 0.0
        for s in series:
            v = s.values[i]
            if v == 0:
                continue
            base = up if v > 0 else down
            top, bottom = (y(base + v), y(base)) if v > 0 else (y(base), y(base + v))
            if v > 0:
                up += v
            else:
                down += v
            out.append(
                f'<rect x="{x_of(i) - bar / 2:.1f}" y="{top:.1f}" width="{bar:.1f}" height="{max(0.5, bottom - top):.1f}" '
                f'fill="{s.color}"><title>{escape(f"{label} · {s.name}: {fmt(v)}")}</title></rect>'
            )
    out.append("</svg>")
    return Markup("".join(out))


def line_chart(
    labels: Sequence[str], series: Sequence[Series], fmt: Callable[[float], str], title: str, y_max: float | None = None
) -> Markup:
    """One line per series, a dot per label with its value on hover."""
    series = colored(series)
    values = [v for s in series for v in s.values]
    lo, hi, ticks = _axis(min([0.0, *values]), max([y_max or 0.0, *values, 0.0]))

    def y(v: float) -> float:
        return TOP + (hi - v) / (hi - lo) * (H - TOP - BOTTOM)

    step = (W - LEFT - RIGHT) / max(1, len(labels))

    def x_of(i: int) -> float:
        return LEFT + step * (i + 0.5)

    out = _frame(ticks, y, fmt, labels, x_of, series, title)
    for s in series:
        points = " ".join(f"{x_of(i):.1f},{y(v):.1f}" for i, v in enumerate(s.values))
        out.append(f'<polyline points="{points}" fill="none" stroke="{s.color}" stroke-width="2"/>')
        for i, v in enumerate(s.values):
            out.append(
                f'<circle cx="{x_of(i):.1f}" cy="{y(v):.1f}" r="3" fill="{s.color}">'
                f"<title>{escape(f'{labels[i]} · {s.name}: {fmt(v)}')}</title></circle>"
            )
    out.append("</svg>")
    return Markup("".join(out))


def compact(value: float) -> str:
    """An axis figure: 1.5M, 250k, 12."""
    a = abs(value)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{value / div:.3g}{suffix}"
    return f"{value:.3g}"
