"""Webhook acknowledgement: Portal's `/stripe/webhook/` against dj-stripe's stock UUID endpoint.

    python bench/webhooks.py [--events 300] [--concurrency 4] [--broker-url redis://...]

Starts, all on 127.0.0.1 and stopped at the end: a throwaway local Stripe server, and Portal
under gunicorn on a SQLite database (migrated on first use, kept in the temp directory for the
next run). Makes a bounded number of Stripe events on the local server, then posts the same
signed events to both endpoints and prints accepted events per second and p50/p99
acknowledgement latency for each. dj-stripe's endpoint syncs inside the request; Portal's stores
the event and answers, then processes it after the response (or, with `--broker-url`, in a
Celery worker this script starts).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import stripe

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from accounts.webhooks.signature import signature_header_build  # noqa: E402
from stripe_server.testing import running_server  # noqa: E402

SECRET = "whsec_benchportal000000000000000000"  # noqa: S105 - a throwaway local secret
DJSTRIPE_SECRET = "whsec_benchdjstripe00000000000000000"  # noqa: S105
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def events_make(client: stripe.StripeClient, count: int) -> list[dict[str, Any]]:
    """Create and rename products until the server has `count` events about them."""
    since = int(json.loads(OPENER.open(f"{client_base}/_local/clock").read())["now"])
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


def post(url: str, body: bytes, secret: str) -> tuple[int, float]:
    header = signature_header_build(payload=body, secret=secret)
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Stripe-Signature": header},
    )
    started = time.perf_counter()
    try:
        with OPENER.open(request, timeout=60) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.perf_counter() - started


def run(label: str, url: str, secret: str, bodies: list[bytes], concurrency: int) -> None:
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda body: post(url, body, secret), bodies))
    elapsed = time.perf_counter() - started
    accepted = sum(1 for status, _ in results if 200 <= status < 300)
    latencies = sorted(seconds * 1000 for _, seconds in results)
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"{label}: {accepted / elapsed:.0f} accepted events/s ({accepted}/{len(bodies)} in "
        f"{elapsed:.2f}s), ack latency p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )


def wait_until_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            OPENER.open(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def main() -> None:
    global client_base
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300, help="events to send (max 2000)")
    parser.add_argument("--concurrency", type=int, default=4, help="parallel senders (max 16)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--broker-url", default="", help="e.g. redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--database-url", default="", help="default: a SQLite file in the temp directory"
    )
    args = parser.parse_args()
    count = max(1, min(args.events, 2000))
    concurrency = max(1, min(args.concurrency, 16))
    database = Path(tempfile.gettempdir()) / "portal-bench-webhooks.sqlite3"
    processes: list[subprocess.Popen[bytes]] = []
    with running_server() as server:
        client_base = server.api_base
        env = {
            **os.environ,
            "DATABASE_URL": args.database_url or f"sqlite:///{database}",
            "STRIPE_API_BASE": server.api_base,
            "STRIPE_TEST_SECRET_KEY": server.api_key,
            "DJSTRIPE_WEBHOOK_SECRET": SECRET,
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-secret-key-" + uuid.uuid4().hex,
            "LOG_LEVEL": "WARNING",
            "CELERY_BROKER_URL": args.broker_url,
        }
        print("Migrating the database (about a minute the first time)...", flush=True)
        manage(env, "migrate", "--no-input", "-v", "0", "--skip-checks")
        endpoint_uuid = str(uuid.uuid4())
        manage(
            env,
            "shell",
            "-c",
            "from djstripe.models import WebhookEndpoint; "
            "WebhookEndpoint.objects.all().delete(); "
            f"WebhookEndpoint.objects.create(id='we_bench', url='http://bench/', "
            f"enabled_events=['*'], status='enabled', secret='{DJSTRIPE_SECRET}', "
            f"djstripe_uuid='{endpoint_uuid}', livemode=False)",
        )
        client = stripe.StripeClient(server.api_key, base_addresses={"api": server.api_base})
        print(f"Making {count} events on the local Stripe server...", flush=True)
        bodies = [json.dumps(event).encode() for event in events_make(client, count)]
        port = free_port()
        try:
            processes.append(
                subprocess.Popen(
                    [
                        str(BIN / "gunicorn"),
                        "portal.wsgi",
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--workers",
                        str(args.workers),
                        "--threads",
                        "4",
                        "--log-level",
                        "warning",
                    ],
                    cwd=ROOT,
                    env=env,
                )
            )
            if args.broker_url:
                processes.append(
                    subprocess.Popen(
                        [
                            str(BIN / "celery"),
                            "-A",
                            "portal",
                            "worker",
                            "--loglevel",
                            "WARNING",
                            "--concurrency",
                            "2",
                        ],
                        cwd=ROOT,
                        env=env,
                    )
                )
            base = f"http://127.0.0.1:{port}"
            wait_until_up(f"{base}/stripe/webhook/")
            print(f"{count} signed events, {concurrency} senders, gunicorn on {base}")
            run(
                "dj-stripe /stripe/webhook/<uuid>/",
                f"{base}/stripe/webhook/{endpoint_uuid}/",
                DJSTRIPE_SECRET,
                bodies,
                concurrency,
            )
            # dj-stripe skips events it has already recorded: forget them so Portal's pipeline
            # does the same work.
            manage(
                env,
                "shell",
                "-c",
                "from djstripe.models import Event; Event.objects.all().delete()",
            )
            run("Portal /stripe/webhook/", f"{base}/stripe/webhook/", SECRET, bodies, concurrency)
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=20)


client_base = ""

if __name__ == "__main__":
    main()
