"""A free trial that ends without a payment method, as its `trial_settings` say.

`trial_settings[end_behavior][missing_payment_method]`:

- `create_invoice` (the default): the trial's end renews as any trial's end does; the first
  period's invoice finds nothing to charge, stays open, and the subscription is `past_due`.
- `cancel`: the subscription ends at the trial's end (`customer.subscription.deleted`), with no
  invoice.
- `pause`: the subscription becomes `paused` (`customer.subscription.updated`, then
  `customer.subscription.paused`), with no invoice; the billing pass leaves it alone until it
  is resumed (`resumptions.py`).

A subscription has a payment method when `payments.payment_method_for` finds one (its own
default, else its customer's), the one its invoices would be charged to.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from stripe_server import events
from stripe_server.context import Context
from stripe_server.frozen_time import FrozenClock
from stripe_server.lifecycle.payments import payment_method_for
from stripe_server.lifecycle.subscriptions import subscription_cancel_now, subscription_save_updated


def trial_end_without_payment_method(ctx: Context, subscription: dict[str, Any]) -> bool:
    """At a trialing subscription's trial end: cancel or pause it when it has no payment
    method and its trial settings say so. True if it did (then nothing is invoiced)."""
    if subscription["status"] != "trialing":
        return False
    customer = ctx.require("customer", subscription["customer"])
    if payment_method_for(ctx, subscription, customer) is not None:
        return False
    behavior = subscription["trial_settings"]["end_behavior"]["missing_payment_method"]
    trial_end = subscription["current_period_end"]
    # What happens, happens when the trial ends (events carry that time), however late the
    # billing pass (or a test clock's advance) gets to it.
    at_trial_end = dataclasses.replace(ctx, clock=FrozenClock(trial_end))
    if behavior == "cancel":
        subscription_cancel_now(
            at_trial_end, subscription, reason="cancellation_requested", at=trial_end
        )
        return True
    if behavior == "pause":
        before = copy.deepcopy(subscription)
        subscription["status"] = "paused"
        subscription_save_updated(at_trial_end, subscription, before)
        events.emit(at_trial_end, "customer.subscription.paused", subscription)
        return True
    return False
