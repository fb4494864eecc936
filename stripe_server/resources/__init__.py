"""One module per Stripe resource; importing this package registers all their routes."""

from __future__ import annotations

from stripe_server.resources import account, prices, products

__all__ = ["account", "prices", "products"]
