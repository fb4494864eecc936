"""One module per Stripe resource; importing this package registers all their routes."""

from __future__ import annotations

from stripe_server.resources import (
    account,
    billing_meter_events,
    billing_meters,
    coupons,
    customer_balance_transactions,
    customers,
    events,
    invoice_previews,
    invoices,
    payment_methods,
    prices,
    products,
    promotion_codes,
    subscription_items,
    subscription_schedules,
    subscriptions,
    webhook_endpoints,
)

__all__ = [
    "account",
    "billing_meter_events",
    "billing_meters",
    "coupons",
    "customer_balance_transactions",
    "customers",
    "events",
    "invoice_previews",
    "invoices",
    "payment_methods",
    "prices",
    "products",
    "promotion_codes",
    "subscription_items",
    "subscription_schedules",
    "subscriptions",
    "webhook_endpoints",
]
