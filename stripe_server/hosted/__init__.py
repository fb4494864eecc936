"""Server-rendered pages the local Stripe server hosts: Checkout, the Customer Portal and the
invoice page (with its PDF).

Template files in `templates/`, rendered by `render.py` with every value escaped, forms posting
back to the server. They stand in for checkout.stripe.com, billing.stripe.com and
invoice.stripe.com so the whole flow runs offline.
"""

from __future__ import annotations
