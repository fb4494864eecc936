"""The hosted Customer Portal: a customer's subscriptions, plan and quantity changes,
cancelling and resuming, replacing the card, and Return.

Every change goes through the API's own subscription and customer handlers, so it emits the
same `customer.subscription.updated` / `deleted` events (with `previous_attributes`) a direct
API call would. What a customer may do comes from the session's portal configuration; a
session with `flow` opens on that flow's screen and, once done, follows `after_completion`.
Importing this package registers the routes of all its screens.
"""

from __future__ import annotations

from stripe_server.hosted.portal import cancel, home, payment_method, plan, plan_confirm

__all__ = ["cancel", "home", "payment_method", "plan", "plan_confirm"]
