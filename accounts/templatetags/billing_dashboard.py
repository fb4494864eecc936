"""Template helpers of the billing dashboard: `{% load billing_dashboard %}`.

    {% mrr_chart history %}          MRR at each month's end, as an SVG bar chart
    {% movements_chart history %}    each month's new, expansion, contraction and churn
    {% money amount currency %}      minor units as money, cents shown ("$1,250.00")
    {{ lag|duration_text }}          a timedelta as people read it ("0.4 s", "3 min 20 s")
    {{ obj|admin_url }}              the admin page of a model instance ("" without one)

`history` is an `accounts.metrics.selectors.CurrencyHistory`; the charts' geometry comes from
`accounts.metrics.charts`, drawn by `admin/billing/_bar_chart.html`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template
from django.db.models import Model
from django.urls import NoReverseMatch, reverse

from accounts.metrics import charts
from accounts.metrics.selectors import CurrencyHistory
from accounts.selectors import Money

register = template.Library()


@register.inclusion_tag("admin/billing/_bar_chart.html")
def mrr_chart(history: CurrencyHistory) -> dict[str, Any]:
    """MRR at the end of each of the history's months, one bar per month."""
    return {
        "chart": charts.mrr_chart(
            chart_id=f"mrr-chart-{history.currency}",
            currency=history.currency,
            labels=[month.label for month in history.months],
            values=[month.mrr for month in history.months],
        )
    }


@register.inclusion_tag("admin/billing/_bar_chart.html")
def movements_chart(history: CurrencyHistory) -> dict[str, Any]:
    """Each of the history's months' movements: gains above zero, losses below."""
    return {
        "chart": charts.movements_chart(
            chart_id=f"movements-chart-{history.currency}",
            currency=history.currency,
            labels=[month.label for month in history.months],
            movements=[
                {
                    "new": month.movements.new,
                    "expansion": month.movements.expansion,
                    "contraction": month.movements.contraction,
                    "churn": month.movements.churn,
                }
                for month in history.months
            ],
        )
    }


@register.simple_tag
def money(amount: int, currency: str) -> str:
    """`amount` minor units of `currency`, with its cents: "$1,250.00", "-$12.50", "¥500"."""
    return Money(int(amount), currency).exact


@register.filter
def admin_url(obj: Model | None) -> str:
    """The admin's change page of `obj`; "" when the admin has none."""
    if obj is None:
        return ""
    try:
        return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return ""


@register.filter
def duration_text(value: timedelta | None) -> str:
    """ "0.4 s", "12 s", "3 min 20 s", "2 h 5 min"; "—" for None."""
    if value is None:
        return "—"
    seconds = value.total_seconds()
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, seconds_left = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {seconds_left} s" if seconds_left else f"{minutes} min"
    hours, minutes_left = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes_left} min" if minutes_left else f"{hours} h"
    return f"{hours // 24} days"
