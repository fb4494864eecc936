"""Subscribers on their own test clocks, made through the SDK as Portal makes them.

A clock starts at 1 January 2026; its customer has a card that pays; the subscription starts
there, and the clock is then moved on (to 11 January unless a test says otherwise). "Now" and
every period boundary are therefore exact, and each test works out its amounts itself from
the calendar below, never by asking the server.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import stripe

DAY = 86400
JAN_1_2026 = 1767225600
JAN_11_2026 = JAN_1_2026 + 10 * DAY
FEB_1_2026 = JAN_1_2026 + 31 * DAY
MAR_1_2026 = FEB_1_2026 + 28 * DAY


def product_create(sdk: stripe.StripeClient, name: str) -> str:
    """A product called `name` and a short random tag (the server is shared by the session);
    its id."""
    return sdk.v1.products.create({"name": f"{name} {uuid.uuid4().hex[:6]}"}).id


def recurring_price(
    sdk: stripe.StripeClient,
    product: str,
    amount: int,
    interval: str = "month",
    interval_count: int | None = None,
) -> stripe.Price:
    """A flat price in USD, `amount` cents every `interval` (or `interval_count` of them)."""
    recurring: dict[str, Any] = {"interval": interval}
    if interval_count is not None:
        recurring["interval_count"] = interval_count
    return sdk.v1.prices.create(
        {"product": product, "currency": "usd", "unit_amount": amount, "recurring": recurring}
    )


def graduated_seats_price(sdk: stripe.StripeClient, product: str) -> stripe.Price:
    """$10 a seat a month for the first 5, then $8 (7 seats: 5 x $10 + 2 x $8 = $66)."""
    return sdk.v1.prices.create(
        {
            "product": product,
            "currency": "usd",
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": [{"up_to": 5, "unit_amount": 1000}, {"up_to": "inf", "unit_amount": 800}],
            "recurring": {"interval": "month"},
        }
    )


def card_customer(sdk: stripe.StripeClient, **extra: Any) -> stripe.Customer:
    """A customer whose default payment method is a Visa that pays (`extra`: more params)."""
    return sdk.v1.customers.create(
        {
            "email": f"subscriber-{uuid.uuid4().hex[:8]}@example.com",
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
            **extra,
        }
    )


@dataclass
class Subscriber:
    """A subscriber on its own test clock: the clock's id, the customer's id, and the
    subscription as it was created."""

    clock: str
    customer: str
    subscription: stripe.Subscription


def subscriber_on_clock(
    sdk: stripe.StripeClient,
    price: stripe.Price,
    *,
    quantity: int = 1,
    now: int = JAN_11_2026,
    **subscription_extra: Any,
) -> Subscriber:
    """A paying customer on a fresh clock at 1 Jan 2026, subscribed there to `quantity` of
    `price` (`subscription_extra`: more params), with the clock then moved to `now`."""
    clock = sdk.v1.test_helpers.test_clocks.create({"frozen_time": JAN_1_2026})
    customer = card_customer(sdk, test_clock=clock.id)
    subscription = sdk.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": [{"price": price.id, "quantity": quantity}],
            **subscription_extra,
        }
    )
    sdk.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": now})
    return Subscriber(clock.id, customer.id, subscription)


def events_about(sdk: stripe.StripeClient, object_id: str, event_type: str) -> list:
    """The `event_type` events about one object, newest first."""
    # Every page: a test clock's events carry its (past) time, behind the session's newer ones.
    listed = sdk.v1.events.list({"type": event_type, "limit": 100}).auto_paging_iter()
    return [event for event in listed if event.data.object.get("id") == object_id]


def line_summary(invoice: Any) -> list[tuple[int, bool, int, int]]:
    """An invoice's (or a preview's) lines as sorted (amount, proration, start, end)."""
    return sorted(
        (
            line.amount,
            line.parent.subscription_item_details.proration,
            line.period.start,
            line.period.end,
        )
        for line in invoice.lines.data
    )
