"""The pricing page's query string: which interval, how many seats."""

from __future__ import annotations

from django import forms

from pricing.catalog import active_intervals
from pricing.selectors import SEATS_MAX, SEATS_MIN

SEATS_ERROR = f"Seats must be a whole number from {SEATS_MIN} to {SEATS_MAX:,}."


class PricingQueryForm(forms.Form):
    """`?interval=year&seats=12`. Both are optional: the page has defaults for each."""

    interval = forms.ChoiceField(required=False)
    seats = forms.IntegerField(
        required=False,
        min_value=SEATS_MIN,
        max_value=SEATS_MAX,
        error_messages={
            "invalid": SEATS_ERROR,
            "min_value": SEATS_ERROR,
            "max_value": SEATS_ERROR,
        },
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        intervals = active_intervals()
        field = self.fields["interval"]
        field.choices = [(value, value) for value in intervals]  # type: ignore[attr-defined]
        names = " or ".join(f"“{value}”" for value in intervals)
        field.error_messages["invalid_choice"] = f"The billing interval must be {names}."
