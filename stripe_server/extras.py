"""Checkout, the Billing Portal, test clocks, the hosted pages (Checkout, portal, invoices) and
the delivery fault knobs.

Importing this module registers their routes (the server imports it next to `resources`).
"""

from __future__ import annotations

from stripe_server import faults
from stripe_server.hosted import checkout as hosted_checkout
from stripe_server.hosted import invoice as hosted_invoice
from stripe_server.hosted import portal as hosted_portal
from stripe_server.resources import (
    billing_portal_configurations,
    billing_portal_sessions,
    checkout_sessions,
    test_clocks,
)

__all__ = [
    "billing_portal_configurations",
    "billing_portal_sessions",
    "checkout_sessions",
    "faults",
    "hosted_checkout",
    "hosted_invoice",
    "hosted_portal",
    "test_clocks",
]
