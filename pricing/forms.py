"""The pricing page's query string: which interval, how many seats, which promotion code."""

from __future__ import annotations

from django import forms

from pricing.catalog import active_intervals
from pricing.promotions import PROMO_CODE_ERROR, PROMO_CODE_MAX_LENGTH, promo_code_clean
from pricing.selectors import SEATS_MAX, SEATS_MIN

SEATS_ERROR = f"Seats must be a whole number from {SEATS_MIN} to {SEATS_MAX:,}."


class PromoCodeField(forms.CharField):
    """A promotion code as typed (any case): letters, digits and dashes, trimmed. Anything
    else gets one message, which never repeats what was typed."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "error_messages", {"invalid": PROMO_CODE_ERROR, "max_length": PROMO_CODE_ERROR}
        )
        super().__init__(max_length=PROMO_CODE_MAX_LENGTH, **kwargs)  # type: ignore[arg-type]

    def to_python(self, value: object) -> str:
        text = super().to_python(value)
        if text and promo_code_clean(text) is None:
            raise forms.ValidationError(PROMO_CODE_ERROR, code="invalid")
        return text


class PricingQueryForm(forms.Form):
    """`?interval=year&seats=12&promo=LAUNCH20`. All optional: the page has defaults for the
    first two, and shows its regular prices without a code."""

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
    promo = PromoCodeField()

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        intervals = active_intervals()
        field = self.fields["interval"]
        field.choices = [(value, value) for value in intervals]  # type: ignore[attr-defined]
        names = " or ".join(f"“{value}”" for value in intervals)
        field.error_messages["invalid_choice"] = f"The billing interval must be {names}."
