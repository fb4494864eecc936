"""The plan-change form: which price, how many seats, and the signed preview it confirms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core import signing

from accounts.billing.state import BillingState
from pricing.catalog import Offer, offer_for_plan, offer_for_price
from pricing.selectors import SEATS_MAX, SEATS_MIN

# A preview is confirmed within this many seconds, or computed again (the amount moves with
# every second of the period).
PREVIEW_MAX_AGE = 5 * 60
_SALT = "portal.plan-change"


class PreviewExpiredError(Exception):
    """The confirmed preview is too old: compute it again rather than apply it."""


def preview_token(*, subscription_id: str, price_id: str, quantity: int, at: int | None) -> str:
    """What the confirm form carries: the previewed change and its `proration_date`, signed."""
    return signing.dumps({"s": subscription_id, "p": price_id, "q": quantity, "d": at}, salt=_SALT)


def preview_token_read(
    token: str, *, subscription_id: str, price_id: str, quantity: int
) -> int | None:
    """The `proration_date` a valid token carries for this change. `PreviewExpiredError` when
    it is older than `PREVIEW_MAX_AGE`; `signing.BadSignature` when forged or for another
    change."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=PREVIEW_MAX_AGE)
    except signing.SignatureExpired as error:
        raise PreviewExpiredError from error
    if (data.get("s"), data.get("p"), data.get("q")) != (subscription_id, price_id, quantity):
        raise signing.BadSignature("The preview was for another change.")
    at = data.get("d")
    return int(at) if at is not None else None


class PlanChangeForm(forms.Form):
    """`price` (or `plan`, a pricing-page slug, at the holder's interval) and `seats`: only
    what the pricing page offers can be chosen."""

    price = forms.CharField(required=False, max_length=255)
    plan = forms.SlugField(required=False, max_length=100)
    seats = forms.IntegerField(
        required=False,
        min_value=SEATS_MIN,
        max_value=SEATS_MAX,
        error_messages={
            "min_value": f"Seats must be a whole number from {SEATS_MIN} to {SEATS_MAX:,}.",
            "max_value": f"Seats must be a whole number from {SEATS_MIN} to {SEATS_MAX:,}.",
            "invalid": f"Seats must be a whole number from {SEATS_MIN} to {SEATS_MAX:,}.",
        },
    )
    token = forms.CharField(required=False, max_length=2000)

    def __init__(
        self, *args: Any, state: BillingState, seats_fixed: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.state = state
        # Seats that are not the buyer's to choose (a team's member count), for per-seat plans.
        self.seats_fixed = seats_fixed
        self.offer: Offer | None = None
        self.quantity = 1

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        offer = None
        if data.get("price"):
            offer = offer_for_price(price_id=data["price"])
        elif data.get("plan"):
            item = self.state.plan_item
            interval = item.interval if item is not None else "month"
            offer = offer_for_plan(slug=data["plan"], interval=interval)
        if offer is None:
            raise forms.ValidationError(
                "That plan is not available. Choose one on the pricing page.", code="price"
            )
        self.offer = offer
        if offer.product.per_seat:
            seats = self.seats_fixed or data.get("seats")
            self.quantity = seats if seats is not None else max(self.state.seats, 1)
        return data
