"""Usage recording: `usage_record` against a bare INSERT and against a Stripe call per use.

    python bench/usage.py [--calls 4000] [--threads 8] [--database-url postgres://...]

Starts a throwaway local Stripe server on 127.0.0.1 and uses a SQLite file in the temp directory
(WAL, as Portal configures SQLite; migrated on first use) or the database `--database-url` names.
From `--threads` threads at once, in interleaved rounds so that a busy machine slows each alike:

- `usage_record(holder=..., meter="api_calls", value=1)`, `--calls` times;
- a bare single-row INSERT of the same columns into a table of its own, on the same database,
  through the same connections (the floor for one durable write);
- one Stripe meter event per use (`billing.meter_events.create`, what recording without Portal
  would cost), against the local Stripe server, a quarter as many times. The local server
  answers in a few milliseconds; Stripe itself takes tens to hundreds, so this ratio is a floor.

Then one `usage_flush` sends everything recorded, and the Stripe calls it made are compared with
the holder x meter x minute windows the records fall in (the target: at most one call each).

Prints a table and writes `bench/usage-results-sqlite.json` (or `-postgresql.json`).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import machine  # noqa: E402
from stripe_server.testing import running_server  # noqa: E402

RESULTS = ROOT / "bench" / "usage-results-{vendor}.json"
DATABASE = Path(tempfile.gettempdir()) / "portal-bench-usage.sqlite3"
ROUNDS = 3
TARGETS = {"record_vs_insert": (">=", 0.5), "record_vs_stripe_call": (">=", 50.0)}
INSERT_TABLE = "bench_usage_insert"


def _threads(count: int, threads: int, work: Callable[[int], None]) -> float:
    """Run `work(i)` for i in range(count), split over `threads` threads; calls per second."""
    from django.db import connection

    share = [count // threads + (1 if i < count % threads else 0) for i in range(threads)]
    start_line = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def run(offset: int, n: int) -> None:
        start_line.wait()
        try:
            for i in range(offset, offset + n):
                work(i)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    offsets = [sum(share[:i]) for i in range(threads)]
    workers = [
        threading.Thread(target=run, args=(offset, n))
        for offset, n in zip(offsets, share, strict=True)
    ]
    for worker in workers:
        worker.start()
    start_line.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    return count / elapsed


def _insert_table_create() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        key = (
            "bigserial primary key"
            if connection.vendor == "postgresql"
            else "integer primary key autoincrement"
        )
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {INSERT_TABLE} (id {key}, customer_id bigint NOT NULL, "
            "meter varchar(100) NOT NULL, value numeric NOT NULL, recorded_at timestamp NOT NULL)"
        )
        cursor.execute(f"DELETE FROM {INSERT_TABLE}")  # noqa: S608 - a constant name


def seed(threads: int) -> dict[str, Any]:
    """A meter in the local Stripe, and one subscribed holder per thread."""
    from django.core.management import call_command

    from accounts.billing.checkout import holder_customer_ensure, holder_subscription_sync
    from accounts.models import UsageBatch, UsageRecord, User
    from portal.stripe_client import stripe_client
    from pricing import metadata
    from pricing.services import stripe_catalog_sync

    print("Migrating the database (about a minute the first time)...", flush=True)
    call_command("migrate", verbosity=0, skip_checks=True)
    UsageRecord.objects.all().delete()
    UsageBatch.objects.all().delete()
    client = stripe_client()
    event_name = f"bench_calls_{uuid.uuid4().hex[:8]}"
    meter = client.v1.billing.meters.create(
        params={
            "display_name": "API calls",
            "event_name": event_name,
            "default_aggregation": {"formula": "sum"},
        }
    )
    metadata.ACTIVE_METERS = [
        metadata.MeterMetadata("api_calls", event_name, "API call", "API calls")
    ]
    product = client.v1.products.create(params={"name": "Bench usage"})
    flat = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "usd",
            "unit_amount": 1000,
            "recurring": {"interval": "month"},
        }
    )
    metered = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "usd",
            "unit_amount_decimal": "0.2",
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
        }
    )
    stripe_catalog_sync()
    holders = []
    for position in range(threads):
        email = f"bench-usage-{position}@example.com"
        User.objects.filter(email=email).delete()
        user = User.objects.create_user(email=email)
        customer = holder_customer_ensure(holder=user)
        client.v1.subscriptions.create(
            params={
                "customer": customer.id,
                "items": [{"price": flat.id}, {"price": metered.id}],
                "default_payment_method": "pm_card_visa",
            }
        )
        holder_subscription_sync(holder=user)
        user.refresh_from_db()
        holders.append(user)
    return {"holders": holders, "event_name": event_name, "meter_id": meter.id}


def measure(calls: int, threads: int, seeded: dict[str, Any]) -> dict[str, Any]:
    from django.db import connection
    from django.utils import timezone

    from accounts.usage import usage_record
    from portal.stripe_client import stripe_client

    holders = seeded["holders"]
    client = stripe_client()
    sql = (
        f"INSERT INTO {INSERT_TABLE} (customer_id, meter, value, recorded_at) "  # noqa: S608
        "VALUES (%s, %s, %s, %s)"
    )

    def record(i: int) -> None:
        usage_record(holder=holders[i % threads], meter="api_calls", value=1)

    def insert(i: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, [holders[i % threads].customer_id, "api_calls", 1, timezone.now()])

    def stripe_call(i: int) -> None:
        client.v1.billing.meter_events.create(
            params={
                "event_name": seeded["event_name"],
                "payload": {"stripe_customer_id": holders[i % threads].customer.id, "value": "1"},
            }
        )

    _insert_table_create()
    rates: dict[str, list[float]] = {
        "usage_record": [],
        "bare INSERT": [],
        "Stripe call per use": [],
    }
    for round_number in range(ROUNDS):
        print(f"Round {round_number + 1}/{ROUNDS}...", flush=True)
        rates["bare INSERT"].append(_threads(calls, threads, insert))
        rates["usage_record"].append(_threads(calls, threads, record))
        rates["Stripe call per use"].append(
            _threads(max(threads, calls // 4), threads, stripe_call)
        )
    return {label: round(statistics.median(values), 1) for label, values in rates.items()}


def flush_calls() -> dict[str, int]:
    """One flush of everything recorded: Stripe calls made against the windows the records
    fall in."""
    from django.db.models.functions import TruncMinute

    from accounts.models import UsageRecord
    from accounts.usage import usage_flush

    windows = (
        UsageRecord.objects.filter(batch__isnull=True)
        .annotate(window=TruncMinute("recorded_at"))
        .values("customer_id", "meter", "window")
        .distinct()
        .count()
    )
    records = UsageRecord.objects.filter(batch__isnull=True).count()
    began = time.perf_counter()
    report = usage_flush()
    return {
        "records": records,
        "holder_meter_windows": windows,
        "stripe_calls": report.sent + report.already_counted + report.failed,
        "failed": report.failed,
        "seconds": round(time.perf_counter() - began, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4000, help="per round (max 50000)")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--database-url", default="", help="default: a SQLite file")
    args = parser.parse_args()
    calls = max(100, min(args.calls, 50_000))
    threads = max(1, min(args.threads, 32))
    about = machine()
    with running_server() as server:
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "portal.settings",
                "DATABASE_URL": args.database_url or f"sqlite:///{DATABASE}",
                "STRIPE_API_BASE": server.api_base,
                "STRIPE_TEST_SECRET_KEY": server.api_key,
                # A broker named (never reached: nothing is queued) so no flush runs in a
                # thread while recording is measured.
                "CELERY_BROKER_URL": "memory://",
                "DEBUG": "false",
                "SECRET_KEY": "bench-only-secret-key-" + uuid.uuid4().hex,
                "LOG_LEVEL": "WARNING",
            }
        )
        import django

        django.setup()
        from django.db import connection

        seeded = seed(threads)
        print(f"{calls} calls per round from {threads} threads on {connection.vendor}", flush=True)
        rates = measure(calls, threads, seeded)
        flush = flush_calls()
    ratios = {
        "record_vs_insert": round(rates["usage_record"] / rates["bare INSERT"], 3),
        "record_vs_stripe_call": round(rates["usage_record"] / rates["Stripe call per use"], 1),
    }
    targets = {
        name: {
            "target": f"{op} {bound}",
            "value": ratios[name],
            "met": ratios[name] >= bound if op == ">=" else ratios[name] <= bound,
        }
        for name, (op, bound) in TARGETS.items()
    }
    targets["flush_calls_per_window"] = {
        "target": "<= 1",
        "value": round(flush["stripe_calls"] / max(1, flush["holder_meter_windows"]), 3),
        "met": flush["stripe_calls"] <= flush["holder_meter_windows"],
    }
    results = {
        "measured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": about,
        "settings": {"calls_per_round": calls, "threads": threads, "rounds": ROUNDS},
        "database": connection.vendor,
        "calls_per_second": rates,
        "flush": flush,
        "ratios": ratios,
        "targets": targets,
    }
    written = Path(str(RESULTS).format(vendor=connection.vendor))
    written.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(f"{'':32}{'calls/s':>12}")
    for label, rate in rates.items():
        print(f"{label:32}{rate:>12,.1f}")
    print(
        f"\nOne flush: {flush['records']} records in {flush['holder_meter_windows']} holder x "
        f"meter x minute windows -> {flush['stripe_calls']} Stripe calls in {flush['seconds']} s"
    )
    for name, verdict in targets.items():
        mark = "met" if verdict["met"] else "NOT met"
        print(f"{name:28} {verdict['value']:>10} (target {verdict['target']}): {mark}")
    print(f"\nWrote {written.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
