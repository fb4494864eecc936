"""Webhook acknowledgement: Portal's `/stripe/webhook/` against dj-stripe's stock UUID endpoint.

    python bench/webhooks.py [--events 300] [--concurrency 4] [--workers 2]
                             [--broker-url redis://... | --in-process] [--database-url ...]

Starts, all on 127.0.0.1 and stopped at the end: a throwaway local Stripe server, a throwaway
Redis as Celery's broker (unless `--broker-url` names one), and Portal under gunicorn on a
SQLite database (migrated on first use, kept in the temp directory for the next run) or the one
`--database-url` names. Makes a bounded number of Stripe events on the local server, then posts
the same signed events to both endpoints and prints accepted events per second and p50/p99
acknowledgement latency for each. dj-stripe's endpoint syncs inside the request; Portal's
stores the event and answers, and Celery workers process it. Portal is measured twice: with a
Celery worker (2 processes) processing on the same cores meanwhile, and with the worker started
once every event is acknowledged, as when workers run on other machines. Each time it waits (at
most 120 s) until every event is processed, and prints how long that took.

`--in-process` runs without a broker or worker, as `make run` does: Portal then processes each
event in the gunicorn thread right after answering. The database is the benchmark's own: each
run deletes its webhook events and dj-stripe's endpoints and events.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import stripe

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from accounts.webhooks.signature import signature_header_build  # noqa: E402
from bench.load import Request, send_all  # noqa: E402
from bench.processes import LOCAL, Processes, free_port  # noqa: E402
from stripe_server.testing import running_server  # noqa: E402

SECRET = "whsec_benchportal000000000000000000"  # noqa: S105 - a throwaway local secret
DJSTRIPE_SECRET = "whsec_benchdjstripe00000000000000000"  # noqa: S105
PROCESSING_TIMEOUT = 120.0


def events_make(*, client: stripe.StripeClient, api_base: str, count: int) -> list[dict[str, Any]]:
    """Create and rename products on the local Stripe server at `api_base` until it has `count`
    events about them; the events, oldest first, as a webhook delivers them."""
    since = int(json.loads(LOCAL.open(f"{api_base}/_local/clock").read())["now"])
    made: list[dict[str, Any]] = []
    while len(made) < count:
        for _ in range(-(-(count - len(made)) // 3)):  # three events per round
            product = client.v1.products.create(params={"name": f"Bench {uuid.uuid4().hex[:8]}"})
            client.v1.products.update(product.id, params={"name": product.name + " v2"})
            client.v1.prices.create(
                params={
                    "product": product.id,
                    "currency": "usd",
                    "unit_amount": 1000,
                    "recurring": {"interval": "month"},
                }
            )
        made = [
            json.loads(json.dumps(event.to_dict(), default=str))
            for event in client.v1.events.list(
                params={"limit": 100, "created": {"gte": since}}
            ).auto_paging_iter()
        ]
    return list(reversed(made))[:count]


def acknowledgements_measure(
    *, url: str, secret: str, bodies: list[bytes], concurrency: int
) -> dict[str, Any]:
    """Post every body to `url`, signed with `secret`, from `concurrency` keep-alive
    connections (as the page benchmarks do, so that the sender's own cost stays small):
    accepted events/s and latencies."""
    address = urllib.parse.urlsplit(url)
    requests = [
        Request(
            "POST",
            address.path,
            {
                "Content-Type": "application/json",
                "Stripe-Signature": signature_header_build(payload=body, secret=secret),
            },
            body,
        )
        for body in bodies
    ]
    answers, elapsed = send_all(port=address.port, requests=requests, concurrency=concurrency)
    accepted = sum(1 for answer in answers if 200 <= answer.status < 300)
    latencies = sorted(answer.seconds for answer in answers)
    return {
        "events": len(bodies),
        "accepted": accepted,
        "seconds": round(elapsed, 2),
        "rps": round(accepted / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2),
    }


def stock_endpoint_create() -> str:
    """dj-stripe's endpoint for the benchmark (signed with `DJSTRIPE_SECRET`); its UUID."""
    from djstripe.models import WebhookEndpoint

    endpoint_uuid = str(uuid.uuid4())
    WebhookEndpoint.objects.all().delete()
    WebhookEndpoint.objects.create(
        id="we_bench",
        url="http://bench/",
        enabled_events=["*"],
        status="enabled",
        secret=DJSTRIPE_SECRET,
        djstripe_uuid=endpoint_uuid,
        livemode=False,
    )
    return endpoint_uuid


def processing_wait(*, stripe_ids: list[str], since: float, timeout: float) -> dict[str, Any]:
    """Wait, at most `timeout` seconds, until Portal has processed (or failed) every one of
    these events; how many it processed and failed, and the seconds from `since` (a
    `time.time()`) until the last was processed (None when some were still waiting)."""
    from django.db.models import Count, Max

    from accounts.webhooks.models import WebhookEvent

    events = WebhookEvent.objects.filter(stripe_id__in=stripe_ids)
    Status = WebhookEvent.Status
    deadline = time.monotonic() + timeout
    while True:
        counts = dict(events.values_list("status").annotate(Count("id")).order_by())
        waiting = len(stripe_ids) - counts.get(Status.PROCESSED, 0) - counts.get(Status.FAILED, 0)
        if waiting == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    settled = time.time()
    failed = events.filter(status=Status.FAILED).first()
    if waiting == 0 and failed is None:
        # When the last one was processed, rather than when this loop looked.
        settled = events.aggregate(last=Max("processed_at"))["last"].timestamp()
    return {
        "events": len(stripe_ids),
        "processed": counts.get(Status.PROCESSED, 0),
        "failed": counts.get(Status.FAILED, 0),
        "waiting": waiting,
        "seconds": round(settled - since, 2) if waiting == 0 else None,
        "first_error": failed.last_error.splitlines()[0] if failed else "",
    }


def _forget(*, portal: bool) -> None:
    """Forget what dj-stripe (and, with `portal`, Portal) recorded of the events, so that the
    next run over the same events does all the work again."""
    from djstripe.models import Event

    from accounts.webhooks.models import WebhookEvent

    Event.objects.all().delete()
    if portal:
        WebhookEvent.objects.all().delete()


def endpoints_compare(
    *,
    base: str,
    endpoint_uuid: str,
    bodies: list[bytes],
    concurrency: int,
    worker_start: Callable[[], Any] | None = None,
    worker_stop: Callable[[Any], None] | None = None,
) -> dict[str, Any]:
    """The same signed events acknowledged by dj-stripe's endpoint, then by Portal's, each time
    followed by the wait until Portal has processed them. Needs Django set up on the server's
    database.

    With `worker_start` (Portal on a broker), Portal is measured twice: with the Celery worker
    processing beside the web server on the same cores (`portal`), and with the worker started
    once every event is acknowledged (`portal_worker_elsewhere`), as when workers run on other
    machines. Without it (no broker), once: processing runs in the web server's threads.
    """
    stock = acknowledgements_measure(
        url=f"{base}/stripe/webhook/{endpoint_uuid}/",
        secret=DJSTRIPE_SECRET,
        bodies=bodies,
        concurrency=concurrency,
    )
    stripe_ids = [json.loads(body)["id"] for body in bodies]

    def portal_acknowledgements() -> dict[str, Any]:
        return acknowledgements_measure(
            url=f"{base}/stripe/webhook/", secret=SECRET, bodies=bodies, concurrency=concurrency
        )

    def processed(since: float) -> dict[str, Any]:
        return processing_wait(stripe_ids=stripe_ids, since=since, timeout=PROCESSING_TIMEOUT)

    compared: dict[str, Any] = {"djstripe": stock}
    _forget(portal=False)
    worker = worker_start() if worker_start else None
    first_post = time.time()
    compared["portal"] = portal_acknowledgements()
    compared["portal_processing"] = processed(first_post)
    if worker_start is None or worker_stop is None:
        return compared
    worker_stop(worker)
    _forget(portal=True)
    compared["portal_worker_elsewhere"] = portal_acknowledgements()
    worker_started = time.time()
    worker = worker_start()
    compared["portal_worker_elsewhere_processing"] = processed(worker_started)
    worker_stop(worker)
    return compared


def processing_line(processing: dict[str, Any], *, since: str = "the first post") -> str:
    """'processed N/N in X s ...' for a `processing_wait` result."""
    done = f"processed {processing['processed']}/{processing['events']}"
    if processing["seconds"] is not None:
        done += f" in {processing['seconds']} s from {since}"
    else:
        done += f", {processing['waiting']} still waiting after {PROCESSING_TIMEOUT:.0f} s"
    if processing["failed"]:
        done += f", {processing['failed']} failed (first: {processing['first_error']})"
    return done


def acknowledgements_line(label: str, result: dict[str, Any]) -> str:
    return (
        f"{label}: {result['rps']:.0f} accepted events/s ({result['accepted']}/{result['events']} "
        f"in {result['seconds']:.2f}s), ack latency p50 {result['p50_ms']:.1f} ms, "
        f"p99 {result['p99_ms']:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300, help="events to send (max 2000)")
    parser.add_argument("--concurrency", type=int, default=4, help="parallel senders (max 16)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    broker = parser.add_mutually_exclusive_group()
    broker.add_argument(
        "--broker-url", default="", help="a running broker (default: a throwaway Redis)"
    )
    broker.add_argument(
        "--in-process",
        action="store_true",
        help="no broker or worker: process in the gunicorn thread after answering",
    )
    parser.add_argument(
        "--database-url", default="", help="default: a SQLite file in the temp directory"
    )
    args = parser.parse_args()
    count = max(1, min(args.events, 2000))
    concurrency = max(1, min(args.concurrency, 16))
    database = Path(tempfile.gettempdir()) / "portal-bench-webhooks.sqlite3"
    with running_server() as server, Processes() as processes:
        broker_url = ""
        if not args.in_process:
            broker_url = args.broker_url or processes.redis_start().url
        env = {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DATABASE_URL": args.database_url or f"sqlite:///{database}",
            "STRIPE_API_BASE": server.api_base,
            "STRIPE_TEST_SECRET_KEY": server.api_key,
            "DJSTRIPE_WEBHOOK_SECRET": SECRET,
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-secret-key-" + uuid.uuid4().hex,
            "LOG_LEVEL": "WARNING",
            "CELERY_BROKER_URL": broker_url,
        }
        os.environ.update(env)
        import django
        from django.core.management import call_command

        django.setup()
        print("Migrating the database (about a minute the first time)...", flush=True)
        call_command("migrate", verbosity=0, skip_checks=True)
        from accounts.webhooks.models import WebhookEvent

        # Events left by an earlier run would be retried along with this run's.
        WebhookEvent.objects.all().delete()
        endpoint_uuid = stock_endpoint_create()
        client = stripe.StripeClient(server.api_key, base_addresses={"api": server.api_base})
        print(f"Making {count} events on the local Stripe server...", flush=True)
        events = events_make(client=client, api_base=server.api_base, count=count)
        bodies = [json.dumps(event).encode() for event in events]
        port = free_port()
        processes.gunicorn_start(env=env, port=port, workers=args.workers)
        base = f"http://127.0.0.1:{port}"
        if broker_url:
            print(
                f"{count} signed events, {concurrency} senders, gunicorn on {base}; Celery broker"
            )
            compared = endpoints_compare(
                base=base,
                endpoint_uuid=endpoint_uuid,
                bodies=bodies,
                concurrency=concurrency,
                worker_start=lambda: processes.celery_worker_start(env=env),
                worker_stop=processes.stop,
            )
        else:
            print(f"{count} signed events, {concurrency} senders, gunicorn on {base}; no broker")
            compared = endpoints_compare(
                base=base, endpoint_uuid=endpoint_uuid, bodies=bodies, concurrency=concurrency
            )
    for line in results_lines(compared):
        print(line)


def results_lines(compared: dict[str, Any]) -> list[str]:
    """What `endpoints_compare` measured, a line each."""
    lines = [acknowledgements_line("dj-stripe /stripe/webhook/<uuid>/", compared["djstripe"])]
    if "portal_worker_elsewhere" in compared:
        lines += [
            acknowledgements_line(
                "Portal /stripe/webhook/, worker on the same cores", compared["portal"]
            ),
            f"  {processing_line(compared['portal_processing'])}",
            acknowledgements_line(
                "Portal /stripe/webhook/, worker started after",
                compared["portal_worker_elsewhere"],
            ),
            "  "
            + processing_line(
                compared["portal_worker_elsewhere_processing"], since="the worker's start"
            ),
        ]
    else:
        lines += [
            acknowledgements_line("Portal /stripe/webhook/, no broker", compared["portal"]),
            f"  {processing_line(compared['portal_processing'])}",
        ]
    return lines


if __name__ == "__main__":
    main()
