"""The dashboard's charts as geometry: where each bar, tick and label goes in an SVG, computed
here from the figures (pure functions) and drawn by `admin/billing/_bar_chart.html` through the
`billing_charts` template tags. Every chart has a title, a description, axis labels and a
legend, and a table with the same figures next to it; with no figures it draws its axes and
says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from pricing.price_maths import amount_format, currency_minor_units

WIDTH = 520
HEIGHT = 300
PLOT_LEFT = 80
PLOT_RIGHT = WIDTH - 12
PLOT_TOP = 16
PLOT_BOTTOM = 244
# Share of a month's slot its bar takes.
BAR_SHARE = 0.6


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    # Its series ("mrr", "new", "expansion", "contraction", "churn"): the CSS class and legend.
    kind: str
    # What a pointer over it shows ("Mar 2026: $1,250.00").
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class LegendEntry:
    kind: str
    text: str


@dataclass(frozen=True)
class BarChart:
    id: str
    title: str
    description: str
    x_axis_label: str
    y_axis_label: str
    bars: list[Bar] = field(default_factory=list)
    y_ticks: list[Label] = field(default_factory=list)
    x_labels: list[Label] = field(default_factory=list)
    legend: list[LegendEntry] = field(default_factory=list)
    zero_y: float = PLOT_BOTTOM
    # Said in the plot when there is nothing to draw.
    empty_message: str | None = None
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = PLOT_LEFT
    plot_right: int = PLOT_RIGHT
    plot_top: int = PLOT_TOP
    plot_bottom: int = PLOT_BOTTOM

    @property
    def plot_middle(self) -> float:
        return (self.plot_left + self.plot_right) / 2

    @property
    def x_axis_label_y(self) -> int:
        return self.height - 6

    @property
    def y_axis_label_y(self) -> float:
        return (self.plot_top + self.plot_bottom) / 2


def nice_step(span: float, *, unit: int, ticks: int = 4) -> int:
    """A round step (1, 2, 2.5 or 5 times a power of ten, and at least `unit`) that covers
    `span` in about `ticks` steps."""
    raw = max(span / ticks, unit)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= raw:
            return max(unit, round(factor * magnitude))
    return max(unit, round(10 * magnitude))  # pragma: no cover - the loop always returns


@dataclass(frozen=True)
class Scale:
    """Values (minor units) from `low` to `high` onto the plot's height."""

    low: int
    high: int
    step: int

    def y(self, value: float) -> float:
        share = (value - self.low) / (self.high - self.low)
        return round(PLOT_BOTTOM - share * (PLOT_BOTTOM - PLOT_TOP), 2)

    def ticks(self) -> list[int]:
        return list(range(self.low, self.high + 1, self.step))


def scale_for(values: Sequence[int], *, currency: str) -> Scale:
    """A scale from 0 (or below, for negative values) to above the largest value, in round
    steps of whole units of the currency."""
    unit = 10 ** currency_minor_units(currency=currency)
    low, high = min([0, *values]), max([0, *values])
    if low == high:
        high = 100 * unit
    step = nice_step(high - low, unit=unit)
    return Scale(low=math.floor(low / step) * step, high=math.ceil(high / step) * step, step=step)


def _money(amount: int, currency: str) -> str:
    return amount_format(amount=amount, currency=currency, cents=True)


def _slots(count: int) -> tuple[float, float]:
    """The width of each month's slot, and of its bar."""
    slot = (PLOT_RIGHT - PLOT_LEFT) / max(count, 1)
    return slot, slot * BAR_SHARE


def _x_labels(labels: Sequence[str]) -> list[Label]:
    """Each month's name under its slot ("Mar 2026" as "Mar"), and the year under the first
    month and under each January."""
    slot, _ = _slots(len(labels))
    placed = []
    for index, text in enumerate(labels):
        month, _, year = text.partition(" ")
        x = round(PLOT_LEFT + slot * (index + 0.5), 2)
        placed.append(Label(x=x, y=PLOT_BOTTOM + 18, text=month))
        if year and (index == 0 or month == "Jan"):
            placed.append(Label(x=x, y=PLOT_BOTTOM + 33, text=year))
    return placed


def _y_ticks(scale: Scale, currency: str) -> list[Label]:
    return [
        Label(
            x=PLOT_LEFT - 8,
            y=scale.y(tick),
            text=amount_format(amount=tick, currency=currency, cents=False),
        )
        for tick in scale.ticks()
    ]


def _span(labels: Sequence[str]) -> str:
    return f"from {labels[0]} to {labels[-1]}" if labels else ""


def mrr_chart(
    *, chart_id: str, currency: str, labels: Sequence[str], values: Sequence[int | None]
) -> BarChart:
    """MRR at the end of each month (None: no snapshot that month), one bar per month."""
    code = currency.upper()
    known = [value for value in values if value is not None]
    scale = scale_for(known, currency=currency)
    slot, width = _slots(len(labels))
    bars = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        if value is None:
            continue
        top, zero = scale.y(max(value, 0)), scale.y(min(value, 0))
        bars.append(
            Bar(
                x=round(PLOT_LEFT + slot * index + (slot - width) / 2, 2),
                y=top,
                width=round(width, 2),
                height=round(zero - top, 2),
                kind="mrr",
                title=f"{label}: {_money(value, currency)}",
            )
        )
    return BarChart(
        id=chart_id,
        title=f"MRR at the end of each month, {code}",
        description=(
            f"Bar chart of monthly recurring revenue in {code} at the end of each month "
            f"{_span(labels)}; the table that follows lists the same figures."
        ),
        x_axis_label="Month",
        y_axis_label=f"MRR ({code})",
        bars=bars,
        y_ticks=_y_ticks(scale, currency),
        x_labels=_x_labels(labels),
        legend=[LegendEntry("mrr", "MRR at the month's end")],
        zero_y=scale.y(0),
        empty_message=None if known else "No snapshots in these months yet",
    )


# The movements, in the order they are stacked: up from zero, then down from zero.
GAINS = (("new", "New"), ("expansion", "Expansion"))
LOSSES = (("contraction", "Contraction"), ("churn", "Churn"))


def movements_chart(
    *,
    chart_id: str,
    currency: str,
    labels: Sequence[str],
    movements: Sequence[dict[str, int]],
) -> BarChart:
    """Each month's new and expansion MRR stacked above zero, contraction and churn below."""
    code = currency.upper()
    highs = [sum(month.get(kind, 0) for kind, _ in GAINS) for month in movements]
    lows = [-sum(month.get(kind, 0) for kind, _ in LOSSES) for month in movements]
    scale = scale_for([*highs, *lows], currency=currency)
    slot, width = _slots(len(labels))
    bars = []
    for index, (label, month) in enumerate(zip(labels, movements, strict=True)):
        x = round(PLOT_LEFT + slot * index + (slot - width) / 2, 2)
        for series, sign in ((GAINS, 1), (LOSSES, -1)):
            base = 0
            for kind, name in series:
                amount = month.get(kind, 0)
                if amount <= 0:
                    continue
                ends = (base, base + sign * amount)
                top, bottom = scale.y(max(ends)), scale.y(min(ends))
                bars.append(
                    Bar(
                        x=x,
                        y=top,
                        width=round(width, 2),
                        height=round(bottom - top, 2),
                        kind=kind,
                        title=f"{label}, {name.lower()}: {_money(amount, currency)}",
                    )
                )
                base += sign * amount
    moved = any(highs) or any(lows)
    return BarChart(
        id=chart_id,
        title=f"MRR movements each month, {code}",
        description=(
            f"Stacked bar chart of each month's MRR movements in {code} {_span(labels)}: new "
            "and expansion above zero, contraction and churn below; the table that follows "
            "lists the same figures."
        ),
        x_axis_label="Month",
        y_axis_label=f"Change in MRR ({code})",
        bars=bars,
        y_ticks=_y_ticks(scale, currency),
        x_labels=_x_labels(labels),
        legend=[LegendEntry(kind, name) for kind, name in (*GAINS, *LOSSES)],
        zero_y=scale.y(0),
        empty_message=None if moved else "No movements in these months yet",
    )
