"""The billing dashboard with many subscriptions: its SQL queries (the same whatever their
number) and its render time next to the admin index's; and how long the snapshots take.

    python bench/billing_dashboard.py [--subscriptions 10000] [--requests 30]
                                      [--database-url postgres://...]

Migrates a throwaway SQLite database in the temp directory (about a minute; or uses the empty
database `--database-url` names), stores `--subscriptions` subscriptions started over the last
12 months as dj-stripe rows (with their customers, holders, past-due invoices and a day of
webhook events; no Stripe server is needed, the dashboard never asks it), builds 12 months of
daily snapshots with `billing_snapshot --backfill`, then renders the dashboard and the admin
index as a staff user, in interleaved rounds. The SQL queries are counted with 100
subscriptions and again with all of them. `bench/run.py` measures the same two pages under
gunicorn with `dashboard_seed`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STAFF = "bench-staff@example.com"
DAY = 86400
# The plans the subscriptions are on: (key, name, interval, unit amount or tiers).
PLANS = (
    ("basic", "Basic", "month", 1500),
    ("pro", "Pro", "month", 5000),
    ("pro_year", "Pro", "year", 50000),
    ("team", "Team", "month", None),
)
TEAM_TIERS = [
    {"up_to": 5, "unit_amount": 1000, "flat_amount": None},
    {"up_to": None, "unit_amount": 800, "flat_amount": None},
]


def _price(key: str, name: str, interval: str, amount: int | None, now: int) -> dict[str, Any]:
    tiered = amount is None
    return {
        "id": f"price_bench_{key}",
        "object": "price",
        "active": True,
        "billing_scheme": "tiered" if tiered else "per_unit",
        "created": now,
        "currency": "usd",
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        "product": f"prod_bench_{key}",
        "recurring": {"interval": interval, "interval_count": 1, "usage_type": "licensed"},
        "tiers_mode": "graduated" if tiered else None,
        "transform_quantity": None,
        "type": "recurring",
        "unit_amount": amount,
        "unit_amount_decimal": None if tiered else str(amount),
    }


def _subscription(
    number: int, *, customer_id: str, price: dict[str, Any], now: int
) -> dict[str, Any]:
    """A subscription started some time in the last year: most active, one in 20 canceled,
    one in 20 past due, one in 20 in a trial."""
    kind = number % 20
    start = now - (number * 7919) % (365 * DAY)
    trial_end = None
    if kind == 2:
        start = now - (number % 13) * DAY
        trial_end = start + 14 * DAY
    status = {0: "canceled", 1: "past_due", 2: "trialing"}.get(kind, "active")
    period = 365 * DAY if price["recurring"]["interval"] == "year" else 30 * DAY
    elapsed = max(0, now - (trial_end or start))
    period_start = (trial_end or start) + elapsed // period * period
    data = {
        "id": f"sub_bench_{number:06d}",
        "object": "subscription",
        "customer": customer_id,
        "status": status,
        "created": start,
        "start_date": start,
        "cancel_at": None,
        "cancel_at_period_end": number % 50 == 3,
        "canceled_at": None,
        "ended_at": None,
        "trial_start": start if trial_end else None,
        "trial_end": trial_end,
        "discounts": [],
        "default_payment_method": None,
        "latest_invoice": None,
        "schedule": None,
        "metadata": {},
        "livemode": False,
        "items": {
            "object": "list",
            "data": [
                {
                    "id": f"si_bench_{number:06d}",
                    "object": "subscription_item",
                    "price": {k: v for k, v in price.items() if k != "tiers"},
                    "quantity": 1 + number % 30 if price["id"].endswith("team") else 1,
                    "current_period_start": period_start,
                    "current_period_end": period_start + period,
                }
            ],
        },
    }
    if status == "canceled":
        data["ended_at"] = data["canceled_at"] = min(now - DAY, start + (number % 200 + 1) * DAY)
    return data


def dashboard_seed(*, subscriptions: int, first: int = 0, progress: Any = print) -> None:
    """Store subscriptions number `first` to `subscriptions - 1` (and the plans, their
    customers and holders, past-due invoices, a day of webhook events, and a staff user), as
    dj-stripe and Portal store them. Call it again with a larger number to add more."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone
    from djstripe.models import Customer, Invoice, Price, Product, Subscription

    from accounts.models import User
    from accounts.webhooks.models import WebhookEvent

    now = int(time.time())
    moment = timezone.now()
    unusable = make_password(None)
    with transaction.atomic():
        prices = {}
        for key, name, interval, amount in PLANS:
            data = _price(key, name, interval, amount, now)
            if amount is None:
                data["tiers"] = TEAM_TIERS
            Product.objects.get_or_create(
                id=f"prod_bench_{key}",
                defaults={
                    "name": name,
                    "active": True,
                    "stripe_data": {"id": f"prod_bench_{key}", "object": "product", "name": name},
                    "livemode": False,
                    "created": moment,
                },
            )
            Price.objects.get_or_create(
                id=data["id"],
                defaults={
                    "product_id": f"prod_bench_{key}",
                    "currency": "usd",
                    "active": True,
                    "stripe_data": data,
                    "livemode": False,
                    "created": moment,
                },
            )
            prices[key] = data
        numbers = range(first, subscriptions)
        customers = Customer.objects.bulk_create(
            [
                Customer(
                    id=f"cus_bench_{n:06d}",
                    email=f"bench-{n:06d}@example.com",
                    stripe_data={"id": f"cus_bench_{n:06d}", "object": "customer"},
                    livemode=False,
                    created=moment,
                )
                for n in numbers
            ],
            batch_size=500,
        )
        keys = [key for key, *_ in PLANS]
        rows = Subscription.objects.bulk_create(
            [
                Subscription(
                    id=f"sub_bench_{n:06d}",
                    customer_id=f"cus_bench_{n:06d}",
                    stripe_data=_subscription(
                        n, customer_id=f"cus_bench_{n:06d}", price=prices[keys[n % 4]], now=now
                    ),
                    livemode=False,
                    created=moment,
                )
                for n in numbers
            ],
            batch_size=500,
        )
        User.objects.bulk_create(
            [
                User(
                    email=customer.email,
                    password=unusable,
                    customer_id=customer.pk,
                    subscription_id=row.pk,
                )
                for customer, row in zip(customers, rows, strict=True)
            ],
            batch_size=500,
        )
        Invoice.objects.bulk_create(
            [
                Invoice(
                    id=f"in_bench_{row.id[10:]}",
                    customer_id=row.customer_id,
                    stripe_data={
                        "id": f"in_bench_{row.id[10:]}",
                        "object": "invoice",
                        "status": "open",
                        "currency": "usd",
                        "amount_due": 5000,
                        "attempt_count": 2,
                        "next_payment_attempt": now + 3 * DAY,
                        "number": f"BENCH-{row.id[10:]}",
                        "parent": {"subscription_details": {"subscription": row.id}},
                    },
                    livemode=False,
                    created=moment,
                )
                for row in rows
                if row.stripe_data["status"] == "past_due"
            ],
            batch_size=500,
        )
        events = max(100, (subscriptions - first) // 5)
        WebhookEvent.objects.bulk_create(
            [
                WebhookEvent(
                    stripe_id=f"evt_bench_{uuid.uuid4().hex}",
                    type="invoice.paid",
                    payload={},
                    stripe_created=moment - timedelta(seconds=n * 40),
                    received_at=moment - timedelta(seconds=n * 40),
                    status=WebhookEvent.Status.PROCESSED if n % 50 else WebhookEvent.Status.FAILED,
                    processed_at=moment - timedelta(seconds=n * 40 - n % 7),
                )
                for n in range(events)
            ],
            batch_size=500,
        )
        if not User.objects.filter(email=STAFF).exists():
            User.objects.create_superuser(email=STAFF, password=uuid.uuid4().hex)
    progress(f"Stored {subscriptions - first} subscriptions ({subscriptions} in all)")


def snapshots_build(*, progress: Any = print) -> float:
    """Twelve months of daily snapshots, rebuilt from the rows; the seconds it took."""
    from django.utils import timezone

    from accounts.metrics.services import billing_snapshots_backfill

    started = time.perf_counter()
    billing_snapshots_backfill(since=timezone.localdate() - timedelta(days=365))
    seconds = time.perf_counter() - started
    progress(f"Rebuilt 366 days of snapshots in {seconds:.1f} s")
    return seconds


def queries(client: Any, path: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(captured)


def render_times(client: Any, paths: list[str], requests: int) -> dict[str, list[float]]:
    """Each page `requests` times, in interleaved rounds (after one warm-up each)."""
    times: dict[str, list[float]] = {path: [] for path in paths}
    for path in paths:
        client.get(path)
    for _ in range(requests):
        for path in paths:
            started = time.perf_counter()
            response = client.get(path)
            times[path].append(time.perf_counter() - started)
            assert response.status_code == 200, path
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=10000, help="(max 50000)")
    parser.add_argument("--requests", type=int, default=30, help="per page (max 500)")
    parser.add_argument("--database-url", default="", help="an empty database (default: SQLite)")
    args = parser.parse_args()
    total = max(200, min(args.subscriptions, 50000))
    requests = max(5, min(args.requests, 500))
    with tempfile.TemporaryDirectory() as scratch:
        os.environ.update(
            DJANGO_SETTINGS_MODULE="portal.settings",
            DATABASE_URL=args.database_url or f"sqlite:///{scratch}/bench.sqlite3",
            DEBUG="false",
            SECRET_KEY="bench-only-secret-key-" + uuid.uuid4().hex,
            ALLOWED_HOSTS="testserver",
            LOG_LEVEL="WARNING",
        )
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.test import Client
        from django.test.utils import setup_test_environment

        from accounts.models import User

        setup_test_environment()
        # The source static files, as the tests serve them (no collectstatic manifest here).
        settings.STORAGES = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        print("Migrating a throwaway database (about a minute)...", flush=True)
        call_command("migrate", verbosity=0)
        client = Client()
        dashboard, index = "/admin/billing/", "/admin/"

        dashboard_seed(subscriptions=100)
        client.force_login(User.objects.get(email=STAFF))
        snapshots_build()
        few = queries(client, dashboard), queries(client, index)
        dashboard_seed(subscriptions=total, first=100)
        build_seconds = snapshots_build()
        many = queries(client, dashboard), queries(client, index)
        times = render_times(client, [dashboard, index], requests)

    median = {path: statistics.median(values) * 1000 for path, values in times.items()}
    print()
    print(f"{'Page':<44} {'ms (median)':>12} {'SQL, 100':>9} {'SQL, ' + str(total):>11}")
    print("-" * 79)
    for label, path, counts in (
        ("billing dashboard /admin/billing/", dashboard, (few[0], many[0])),
        ("admin index /admin/", index, (few[1], many[1])),
    ):
        print(f"{label:<44} {median[path]:>12.1f} {counts[0]:>9} {counts[1]:>11}")
    print(
        f"\nDashboard / admin index render time: {median[dashboard] / median[index]:.2f}; "
        f"12 months of snapshots of {total} subscriptions rebuilt in {build_seconds:.1f} s; "
        f"{requests} requests per page."
    )
    if few[0] != many[0]:
        raise SystemExit(f"The dashboard's queries grew: {few[0]} -> {many[0]}")


if __name__ == "__main__":
    main()
