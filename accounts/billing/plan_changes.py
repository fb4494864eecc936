"""Changing a live subscription's plan or seats, with Stripe's exact preview first.

The rules (`pricing.plan_changes`): an upgrade applies now, prorated and invoiced at once, and
is charged with `payment_behavior=pending_if_incomplete`, so a declined card leaves the plan
as it was; a downgrade waits for the end of the period, through a subscription schedule that
"Keep my current plan" releases. During a free trial every change applies now, and Stripe
charges nothing until the trial ends. A preview and the change made from it use the same
`proration_date`, so what is charged equals what was shown, to the cent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from djstripe.models import Invoice, Subscription, SubscriptionSchedule

from accounts.billing.discounts import (
    INVOICE_EXPAND,
    SUBSCRIPTION_EXPAND,
    subscription_discounts_sync,
)
from accounts.billing.errors import CheckoutError
from accounts.billing.state import BillingState, stripe_timestamp
from accounts.selectors import price_data_with_tiers
from portal.stripe_client import stripe_client, stripe_json, translate_stripe_errors
from pricing.catalog import Offer
from pricing.plan_changes import ChangeKind, PlanPosition, applies_now, plan_change_kind
from pricing.price_maths import price_terms_from_stripe

logger = logging.getLogger(__name__)


class PlanChangeError(CheckoutError):
    """A plan change that cannot go ahead; the message says why, for the person."""


class PlanChangeDeclinedError(PlanChangeError):
    """The upgrade's payment failed: nothing changed."""


@dataclass(frozen=True)
class ChangeLine:
    """One line of the preview: a credit for unused time, a charge for the remaining time, or
    the next period."""

    description: str
    amount: int
    proration: bool


@dataclass(frozen=True)
class DiscountLine:
    """What one discount takes off the previewed invoice (`total_discount_amounts`)."""

    discount_id: str
    amount: int


@dataclass(frozen=True)
class PlanChangePlan:
    """A requested change, before any Stripe call: from what, to what, and which kind."""

    current: PlanPosition
    new: PlanPosition
    kind: ChangeKind
    item_id: str
    subscription_id: str
    # When the current period ends: when a downgrade takes effect.
    period_end: datetime | None
    # When the free trial the subscription is in ends (None outside a trial): during a trial
    # every change applies at once, and nothing is charged until it ends.
    trial_ends: datetime | None = None
    # The subscription's metered items, (item id, price id, meter id), and the new plan's
    # metered prices, (price id, meter id): usage of a meter both bill moves to the new price.
    current_metered: tuple[tuple[str, str, str | None], ...] = ()
    new_metered: tuple[tuple[str, str | None], ...] = ()

    @property
    def applies_now(self) -> bool:
        if self.trial_ends is not None:
            return self.kind != "current"
        return applies_now(self.kind)


@dataclass(frozen=True)
class PlanChangePreview:
    """What Stripe will charge for an immediate change (its invoice preview), to the cent."""

    # The moment the prorations were computed for (None when there are none).
    proration_date: int | None
    amount_due: int
    total: int
    currency: str
    lines: tuple[ChangeLine, ...]
    # Credit from the customer's balance that pays part of it (minor units, positive).
    credit_applied: int
    # A credit left over for the customer's balance (a cheaper switch), positive.
    credit_left: int
    # When the new price renews next.
    next_renewal: datetime | None
    # When the earliest line's period starts: during a trial the change invoices nothing, and
    # Stripe previews the invoice the trial's end makes instead.
    starts: datetime | None = None
    # What the subscription's discounts take off the lines (the lines are before discounts).
    discounts: tuple[DiscountLine, ...] = ()
    # Whether prorated lines are already net of a discount: Stripe's default, which lists the
    # discount on the invoice with nothing more to take off.
    discount_in_prorations: bool = False


def plan_change_plan(*, state: BillingState, offer: Offer, quantity: int) -> PlanChangePlan:
    """Classify the change from the holder's live subscription to `quantity` x the offered
    price; `PlanChangeError` when it cannot be made (no live subscription, a currency change)."""
    item = state.plan_item
    if not state.is_live or item is None or state.subscription_id is None:
        raise PlanChangeError("You have no subscription to change yet.")
    new_terms = offer.terms
    current_terms = price_terms_from_stripe(data=price_data_with_tiers(item.price))
    if new_terms.currency != current_terms.currency:
        raise PlanChangeError("Your plan can only change to a price in the same currency.")
    current = PlanPosition(
        price_id=item.price_id or "", terms=current_terms, quantity=item.quantity
    )
    new = PlanPosition(price_id=offer.price_id, terms=new_terms, quantity=quantity)
    return PlanChangePlan(
        current=current,
        new=new,
        kind=plan_change_kind(current=current, new=new),
        item_id=item.id,
        subscription_id=state.subscription_id,
        period_end=state.period_end,
        trial_ends=state.trial_end if state.is_trialing else None,
        current_metered=tuple(
            (metered.id, metered.price_id or "", metered.meter_id)
            for metered in state.metered_items
        ),
        new_metered=tuple((price.id, price.terms.meter) for price in offer.metered),
    )


def _update_items(plan: PlanChangePlan) -> list[dict[str, Any]]:
    """The plan's item changes to the new price and seats; each metered item moves to the new
    plan's price on its meter, or goes when the new plan bills no usage of it; the new plan's
    other metered prices are added (metered items have no quantity)."""
    items: list[dict[str, Any]] = [
        {"id": plan.item_id, "price": plan.new.price_id, "quantity": plan.new.quantity}
    ]
    new_by_meter = {meter: price_id for price_id, meter in plan.new_metered}
    for item_id, price_id, meter in plan.current_metered:
        new_price_id = new_by_meter.pop(meter, None)
        if new_price_id is None:
            items.append({"id": item_id, "deleted": True})
        elif new_price_id != price_id:
            items.append({"id": item_id, "price": new_price_id})
    items += [{"price": price_id} for price_id in new_by_meter.values()]
    return items


def _phase_item(item: dict[str, Any]) -> dict[str, Any]:
    """A schedule phase's item as it is sent back: metered ones carry no quantity."""
    sent: dict[str, Any] = {"price": _id(item["price"])}
    if item.get("quantity") is not None:
        sent["quantity"] = item["quantity"]
    return sent


def plan_change_preview(
    *, plan: PlanChangePlan, proration_date: int | None = None
) -> PlanChangePreview:
    """Stripe's preview of the invoice an immediate change creates, prorated as of
    `proration_date` (default: now, by the subscription's clock; the preview says which
    moment it used, for the change to use the same)."""
    details: dict[str, Any] = {
        "items": _update_items(plan),
        "proration_behavior": "always_invoice",
    }
    if proration_date is not None:
        details["proration_date"] = proration_date
    with translate_stripe_errors("preview your plan change"):
        invoice = stripe_client().v1.invoices.create_preview(
            params={"subscription": plan.subscription_id, "subscription_details": details}
        )
    data = stripe_json(invoice)
    subscription_details = (data.get("parent") or {}).get("subscription_details") or {}
    used = subscription_details.get("subscription_proration_date") or proration_date
    raw_lines = (data.get("lines") or {}).get("data") or []
    ends = [end for line in raw_lines if (end := _end(line)) is not None]
    starts = [
        start
        for line in raw_lines
        if (start := stripe_timestamp((line.get("period") or {}).get("start"))) is not None
    ]
    # The balance before: negative is credit, which pays the invoice first.
    starting = int(data.get("starting_balance") or 0)
    total = int(data.get("total") or 0)
    taken = [
        DiscountLine(discount_id=_id(entry.get("discount")) or "", amount=int(entry["amount"]))
        for entry in data.get("total_discount_amounts") or []
        if entry.get("amount")
    ]
    lines = tuple(_line(line) for line in raw_lines)
    return PlanChangePreview(
        proration_date=used,
        amount_due=int(data.get("amount_due") or 0),
        total=total,
        currency=data.get("currency") or plan.new.terms.currency,
        lines=lines,
        credit_applied=max(0, min(total, -starting)),
        credit_left=max(0, -(total + starting)),
        next_renewal=max(ends, default=None),
        starts=min(starts, default=None),
        discounts=tuple(taken),
        discount_in_prorations=(
            bool(data.get("discounts")) and any(line.proration for line in lines)
        ),
    )


def _line(line: dict[str, Any]) -> ChangeLine:
    parent = line.get("parent") or {}
    details = parent.get("subscription_item_details") or parent.get("invoice_item_details") or {}
    return ChangeLine(
        description=line.get("description") or "",
        amount=int(line.get("amount") or 0),
        proration=bool(details.get("proration") or line.get("proration")),
    )


def _end(line: dict[str, Any]) -> datetime | None:
    return stripe_timestamp((line.get("period") or {}).get("end"))


def plan_change_apply(*, plan: PlanChangePlan, proration_date: int | None) -> None:
    """Make the change: an upgrade now (charged at once, as previewed for `proration_date`), a
    downgrade at the end of the period. `PlanChangeDeclinedError` when the card is declined
    (the plan stays as it was); Stripe's refusals as `StripeRequestError`."""
    if plan.applies_now:
        _apply_now(plan, proration_date=proration_date)
    else:
        _schedule_at_period_end(plan)
    _subscription_sync(subscription_id=plan.subscription_id)


def _apply_now(plan: PlanChangePlan, *, proration_date: int | None) -> None:
    client = stripe_client()
    with translate_stripe_errors("change your plan"):
        params: dict[str, Any] = {
            "items": _update_items(plan),
            "proration_behavior": "always_invoice",
            "payment_behavior": "pending_if_incomplete",
        }
        if proration_date is not None:
            params["proration_date"] = proration_date
        updated = client.v1.subscriptions.update(plan.subscription_id, params=params)
    if updated.get("pending_update"):
        invoice_id = _id(updated.get("latest_invoice"))
        # Nothing half-applied: the unpaid invoice of the change goes, and the change with it.
        with translate_stripe_errors("undo the declined change"):
            if invoice_id:
                voided = client.v1.invoices.void_invoice(
                    invoice_id, params={"expand": INVOICE_EXPAND}
                )
                Invoice.sync_from_stripe_data(voided)
        raise PlanChangeDeclinedError(
            "Your card was declined, so your plan has not changed. Update your card with "
            "Manage billing, then try again."
        )
    schedule_id = _id(updated.get("schedule"))
    if schedule_id:
        # A downgrade was waiting for the period's end: the upgrade, now paid, replaces it.
        with translate_stripe_errors("cancel the change that was waiting"):
            released = client.v1.subscription_schedules.release(schedule_id)
            SubscriptionSchedule.sync_from_stripe_data(released)


def _schedule_at_period_end(plan: PlanChangePlan) -> None:
    client = stripe_client()
    with translate_stripe_errors("schedule your plan change"):
        subscription = client.v1.subscriptions.retrieve(plan.subscription_id)
        schedule_id = _id(subscription.get("schedule"))
        if schedule_id:
            schedule = client.v1.subscription_schedules.retrieve(schedule_id)
        else:
            schedule = client.v1.subscription_schedules.create(
                params={"from_subscription": plan.subscription_id}
            )
        current = schedule["phases"][0]
        schedule = client.v1.subscription_schedules.update(
            schedule["id"],
            params={
                "phases": [
                    {
                        "items": [_phase_item(item) for item in current["items"]],
                        "start_date": current["start_date"],
                        "end_date": current["end_date"],
                    },
                    {
                        "items": [
                            {"price": plan.new.price_id, "quantity": plan.new.quantity},
                            *({"price": price_id} for price_id, _ in plan.new_metered),
                        ]
                    },
                ],
                "end_behavior": "release",
                "proration_behavior": "none",
            },
        )
        SubscriptionSchedule.sync_from_stripe_data(schedule)


def plan_change_cancel(*, state: BillingState) -> bool:
    """Keep the current plan: release the schedule that would change it at the period's end.
    False when no change was waiting."""
    if not state.schedule_id or state.subscription_id is None:
        return False
    client = stripe_client()
    with translate_stripe_errors("keep your current plan"):
        schedule = client.v1.subscription_schedules.retrieve(state.schedule_id)
        if schedule["status"] in ("active", "not_started"):
            schedule = client.v1.subscription_schedules.release(state.schedule_id)
        SubscriptionSchedule.sync_from_stripe_data(schedule)
    _subscription_sync(subscription_id=state.subscription_id)
    return True


def _subscription_sync(*, subscription_id: str) -> None:
    """Read the subscription (and the invoice a change made) back into dj-stripe now, rather
    than wait for the webhooks."""
    client = stripe_client()
    with translate_stripe_errors("refresh your subscription"):
        subscription = client.v1.subscriptions.retrieve(
            subscription_id, params={"expand": SUBSCRIPTION_EXPAND}
        )
        with transaction.atomic():
            Subscription.sync_from_stripe_data(subscription)
            subscription_discounts_sync(subscription=subscription)
            invoice_id = _id(subscription.get("latest_invoice"))
            if invoice_id:
                invoice = client.v1.invoices.retrieve(invoice_id, params={"expand": INVOICE_EXPAND})
                Invoice.sync_from_stripe_data(invoice)


def _id(value: Any) -> str | None:
    """The id of a reference Stripe sent as an id or as an expanded object."""
    if isinstance(value, dict):
        return value.get("id")
    return value or None
