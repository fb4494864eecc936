"""Render time and SQL queries of the pricing page, for the demo plans and for many plans.

    python bench/pricing_page.py [--requests 200] [--plans 40]

Starts a throwaway local Stripe server on 127.0.0.1 and a throwaway SQLite database (migrating
it takes about a minute), seeds the demo plans plus `--plans` more, syncs them, then renders
the full page and the htmx partial a bounded number of times and prints one line per scenario.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="per scenario (max 2000)")
    parser.add_argument("--plans", type=int, default=40, help="extra plans (max 200)")
    args = parser.parse_args()
    requests, extra = min(args.requests, 2000), min(args.plans, 200)

    from stripe_server.testing import running_server

    with tempfile.TemporaryDirectory() as scratch, running_server() as server:
        os.environ.update(
            DJANGO_SETTINGS_MODULE="portal.settings",
            DATABASE_URL=f"sqlite:///{scratch}/bench.sqlite3",
            STRIPE_TEST_SECRET_KEY=server.api_key,
            STRIPE_API_BASE=server.api_base,
            DEBUG="true",
        )
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client
        from django.test.utils import setup_test_environment

        from portal.stripe_client import stripe_client
        from pricing import metadata
        from pricing.metadata import ProductMetadata

        setup_test_environment()
        print("Migrating a throwaway database...", flush=True)
        call_command("migrate", verbosity=0)
        call_command("bootstrap_demo_products", stdout=io.StringIO())
        client = stripe_client()
        for position in range(extra):
            product = client.v1.products.create(params={"name": f"Bench plan {position}"})
            for interval, amount in (("month", 900 + position), ("year", 9000 + position)):
                client.v1.prices.create(
                    params={
                        "product": product.id,
                        "currency": "usd",
                        "unit_amount": amount,
                        "recurring": {"interval": interval},
                    }
                )
            metadata.ACTIVE_PRODUCTS.append(
                ProductMetadata(stripe_id=product.id, slug=f"bench-{position}", name=product.name)
            )
        call_command("bootstrap_subscriptions", stdout=io.StringIO())

        browser = Client()
        scenarios = [
            ("full page", {}, {}),
            ("htmx partial (yearly, 12 seats)", {"interval": "year", "seats": "12"},
             {"HTTP_HX_REQUEST": "true"}),
        ]  # fmt: skip
        plans = len(metadata.ACTIVE_PRODUCTS)
        for label, query, headers in scenarios:
            executed: list[str] = []

            def count(execute, sql, params, many, context, executed=executed):
                executed.append(sql)
                return execute(sql, params, many, context)

            with connection.execute_wrapper(count):
                response = browser.get("/pricing/", query, **headers)
            assert response.status_code == 200, response.status_code
            cards = response.content.decode().count("<article data-plan=")
            started = time.perf_counter()
            for _ in range(requests):
                browser.get("/pricing/", query, **headers)
            elapsed = time.perf_counter() - started
            print(
                f"{label}, {cards} of {plans} plans shown: "
                f"{elapsed / requests * 1000:.1f} ms/request, {len(executed)} SQL queries "
                f"({requests} requests in {elapsed:.2f}s)"
            )


if __name__ == "__main__":
    main()
