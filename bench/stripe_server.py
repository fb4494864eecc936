"""Requests per second of the local Stripe server: listing active prices, creating subscriptions.

    python bench/stripe_server.py [--requests 300]

Starts a throwaway server on 127.0.0.1 (never anything else), runs a bounded number of
requests through the `stripe` SDK, and prints one line per scenario.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import stripe

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stripe_server.testing import running_server


def _rate(label: str, count: int, action) -> None:
    started = time.perf_counter()
    for _ in range(count):
        action()
    elapsed = time.perf_counter() - started
    print(f"{label}: {count / elapsed:.0f} requests/s ({count} in {elapsed:.2f}s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="per scenario (max 5000)")
    count = min(parser.parse_args().requests, 5000)
    with running_server() as server:
        client = stripe.StripeClient(server.api_key, base_addresses={"api": server.api_base})
        product = client.v1.products.create({"name": "Bench"})
        monthly = {"product": product.id, "currency": "usd", "recurring": {"interval": "month"}}
        prices = [client.v1.prices.create({**monthly, "unit_amount": 100 * n}) for n in range(20)]
        customer = client.v1.customers.create(
            {
                "payment_method": "pm_card_visa",
                "invoice_settings": {"default_payment_method": "pm_card_visa"},
            }
        )
        _rate(
            "list active prices",
            count,
            lambda: client.v1.prices.list({"active": True, "limit": 100}),
        )
        _rate(
            "create subscription",
            count,
            lambda: client.v1.subscriptions.create(
                {"customer": customer.id, "items": [{"price": prices[0].id}]}
            ),
        )


if __name__ == "__main__":
    main()
