"""Server-rendered pages the local Stripe server hosts: Checkout and the Customer Portal.

Plain HTML from `string.Template`, every value escaped, forms posting back to the server. They
stand in for checkout.stripe.com and billing.stripe.com so the whole flow runs offline.
"""

from __future__ import annotations
