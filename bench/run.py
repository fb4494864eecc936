"""Portal's benchmarks, measured side by side in one run: `make bench` (or `python bench/run.py`).

    python bench/run.py [--requests 300] [--concurrency 4] [--workers 2] [--events 300]
                        [--database-url postgres://...]

Starts, all on 127.0.0.1 and stopped at the end: a throwaway local Stripe server, a throwaway
Redis (`redis-server`, which `make bench` installs) as Celery's broker, and Portal under gunicorn
(`bench.settings`: Portal's settings and URLs plus a bare view and the Pro demo page without its
gate) on a SQLite database kept in the temp directory (migrated on first use, about a minute),
or the database `--database-url` names.
Seeds the demo plans and a Pro subscriber, then measures, in interleaved rounds so that a busy
machine slows every page alike:

- the pricing page against the bare view (requests/s), and revalidated with its ETag (304);
- the htmx interval partial against the full page (bytes and requests/s);
- the status page, and the gated Pro page against the same page ungated;
- the plan-change screen for a downgrade (no Stripe call);
- the billing dashboard as staff, with `--dashboard-subscriptions` subscriptions (10,000) and
  12 months of daily snapshots (`bench/billing_dashboard.py` seeds them), against the admin
  index;
- webhook acknowledgements (events/s, p99) against dj-stripe's stock endpoint: Portal's twice,
  with a Celery worker (2 processes) processing on the same cores meanwhile, and with the
  worker started once every event is acknowledged (as when workers run on other machines);
  each time, how long until every event is processed (as `bench/webhooks.py` does, with its
  pieces);
- SQL queries per page, peak memory per gunicorn worker, and the stylesheet gzipped.

Prints a table and writes `bench/results.json` with the machine it ran on. Request counts are
bounded; nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import http.client
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import billing_dashboard as dashboard_bench  # noqa: E402
from bench import webhooks as webhook_bench  # noqa: E402
from bench.load import Request, send_all  # noqa: E402
from bench.processes import Processes, free_port  # noqa: E402
from stripe_server.testing import running_server  # noqa: E402

RESULTS = ROOT / "bench" / "results.json"
WORKER_CONCURRENCY = 2
DATABASE = Path(tempfile.gettempdir()) / "portal-bench-run.sqlite3"
SUBSCRIBER = "bench-subscriber@example.com"
TARGETS = {
    "pricing_vs_bare_rps": (">=", 0.6),
    "partial_vs_full_bytes": ("<=", 0.25),
    "gated_vs_ungated_latency": ("<=", 1.1),
    "status_vs_bare_rps": (">=", 0.5),
    "gated_vs_bare_rps": (">=", 0.6),
    "change_vs_bare_rps": (">=", 0.5),
    "webhook_vs_djstripe_rps": (">=", 5.0),
    "css_gzip_kb": ("<=", 15.0),
}


# --- Load ---------------------------------------------------------------------------------------


class Scenario:
    """One page requested the same way every time; collects latencies, statuses and bytes."""

    def __init__(self, label: str, path: str, headers: dict[str, str] | None = None) -> None:
        self.label, self.path, self.headers = label, path, headers or {}
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.body = b""
        self.elapsed = 0.0

    def result(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        count = len(ordered)
        return {
            "path": self.path,
            "requests": count,
            "rps": round(count / self.elapsed, 1) if self.elapsed else 0.0,
            "p50_ms": round(statistics.median(ordered) * 1000, 2) if ordered else None,
            "p99_ms": round(ordered[min(count - 1, int(count * 0.99))] * 1000, 2)
            if ordered
            else None,
            "bytes": len(self.body),
            "gzip_bytes": len(gzip.compress(self.body, compresslevel=6)),
            "statuses": {str(status): number for status, number in sorted(self.statuses.items())},
        }


def _load(port: int, scenario: Scenario, requests: int, concurrency: int) -> None:
    """Send `requests` GETs for the scenario from `concurrency` keep-alive connections."""
    answers, seconds = send_all(
        port=port,
        requests=[Request("GET", scenario.path, scenario.headers)] * requests,
        concurrency=concurrency,
    )
    for answer in answers:
        scenario.latencies.append(answer.seconds)
        scenario.statuses[answer.status] = scenario.statuses.get(answer.status, 0) + 1
    if answers:
        scenario.body = answers[-1].body
    scenario.elapsed += seconds


def measure_side_by_side(
    port: int, scenarios: list[Scenario], requests: int, concurrency: int, rounds: int = 4
) -> None:
    """Every scenario gets `requests` requests, in `rounds` interleaved rounds (after a warm-up
    round that is not counted), so load from elsewhere on the machine hits them all alike."""
    for scenario in scenarios:
        _load(port, Scenario("warm-up", scenario.path, scenario.headers), concurrency * 5, 2)
    per_round = max(1, requests // rounds)
    for _ in range(rounds):
        for scenario in scenarios:
            _load(port, scenario, per_round, concurrency)


# --- Setup --------------------------------------------------------------------------------------


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def _session_for(user: Any) -> str:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def seed(server: Any, *, dashboard_subscriptions: int) -> dict[str, Any]:
    """Demo plans synced, a Pro subscriber with a session, dj-stripe's stock endpoint; and for
    the billing dashboard, many subscriptions, 12 months of snapshots and a staff session."""
    from django.conf import settings
    from django.contrib.sites.models import Site
    from django.core.management import call_command
    from djstripe.models import Event

    from accounts.billing.checkout import holder_customer_ensure, holder_subscription_sync
    from accounts.models import User
    from accounts.webhooks.models import WebhookEvent
    from portal.stripe_client import stripe_client

    print("Migrating the database (about a minute the first time)...", flush=True)
    call_command("migrate", verbosity=0, skip_checks=True)
    Site.objects.update_or_create(pk=settings.SITE_ID, defaults={"domain": "127.0.0.1"})
    call_command("bootstrap_demo_products", stdout=io.StringIO())
    call_command("bootstrap_subscriptions", stdout=io.StringIO())
    WebhookEvent.objects.all().delete()
    Event.objects.all().delete()

    User.objects.filter(email=SUBSCRIBER).delete()
    user = User.objects.create_user(email=SUBSCRIBER, password=uuid.uuid4().hex)
    client = stripe_client()
    [pro] = client.v1.prices.list(params={"lookup_keys": ["portal_pro_month"]}).data
    customer = holder_customer_ensure(holder=user)
    client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": pro.id}],
            "default_payment_method": "pm_card_visa",
        }
    )
    holder_subscription_sync(holder=user)
    if not User.objects.filter(email=dashboard_bench.STAFF).exists():
        print(f"Storing {dashboard_subscriptions} subscriptions for the dashboard...", flush=True)
        dashboard_bench.dashboard_seed(subscriptions=dashboard_subscriptions)
        dashboard_bench.snapshots_build()
    staff = User.objects.get(email=dashboard_bench.STAFF)
    endpoint_uuid = webhook_bench.stock_endpoint_create()
    return {
        "session": _session_for(user),
        "staff_session": _session_for(staff),
        "endpoint_uuid": endpoint_uuid,
        "user": user,
    }


def queries_per_page(pages: dict[str, tuple[str, dict[str, str], str | None]]) -> dict[str, int]:
    """SQL queries of one request to each page, counted in this process (Django's test client,
    the same settings and database as the server), as nobody, the subscriber or staff."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from accounts.models import User

    setup_test_environment()
    users = {
        "subscriber": User.objects.get(email=SUBSCRIBER),
        "staff": User.objects.get(email=dashboard_bench.STAFF),
    }
    counts: dict[str, int] = {}
    for label, (path, headers, who) in pages.items():
        client = Client()
        if who is not None:
            client.force_login(users[who])
        client.get(path, **headers)  # warm: caches and the CSRF cookie, as a returning visitor
        executed: list[str] = []

        def count(execute, sql, params, many, context, executed=executed):
            executed.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = client.get(path, **headers)
        assert response.status_code == 200, (label, response.status_code)
        counts[label] = len(executed)
    return counts


def worker_peak_memory(master_pid: int) -> list[float]:
    """Peak resident memory (VmHWM, MiB) of each gunicorn worker."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    peaks = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(round(int(line.split()[1]) / 1024, 1))
    return peaks


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        line.split()[1]
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(int(memory) / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average_before": [round(value, 2) for value in os.getloadavg()],
    }


# --- Report -------------------------------------------------------------------------------------


def verdicts(ratios: dict[str, float]) -> dict[str, dict[str, Any]]:
    checked = {}
    for name, (operator, target) in TARGETS.items():
        value = ratios[name]
        passed = value >= target if operator == ">=" else value <= target
        checked[name] = {"value": value, "target": f"{operator} {target}", "met": passed}
    return checked


def table(results: dict[str, Any]) -> str:
    pages = results["pages"]
    lines = [
        f"{'Page':<34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'bytes':>8} {'gzip':>7} "
        f"{'SQL':>4}",
        "-" * 83,
    ]
    for label, page in pages.items():
        sql = results["sql_queries"].get(label, "")
        lines.append(
            f"{label:<34} {page['rps']:>8} {page['p50_ms']:>8} {page['p99_ms']:>8} "
            f"{page['bytes']:>8} {page['gzip_bytes']:>7} {sql!s:>4}"
        )
    hooks = results["webhooks"]
    lines += ["", f"{'Webhook endpoint':<34} {'events/s':>8} {'p50 ms':>8} {'p99 ms':>8}"]
    lines.append("-" * 61)
    for label, key, processing_key in (
        ("dj-stripe /stripe/webhook/<uuid>/", "djstripe", None),
        ("Portal, worker on the same cores", "portal", "portal_processing"),
        ("Portal, worker started after", "portal_worker_elsewhere", None),
    ):
        hook = hooks[key]
        lines.append(f"{label:<34} {hook['rps']:>8} {hook['p50_ms']:>8} {hook['p99_ms']:>8}")
        if processing_key:
            lines.append(f"  {webhook_bench.processing_line(hooks[processing_key])}")
    processing = webhook_bench.processing_line(
        hooks["portal_worker_elsewhere_processing"], since="the worker's start"
    )
    lines.append(f"  {processing}")
    lines += ["", f"{'Target':<34} {'value':>8} {'target':>8}  met"]
    lines.append("-" * 58)
    for name, verdict in results["targets"].items():
        lines.append(
            f"{name:<34} {verdict['value']:>8} {verdict['target']:>8}  "
            f"{'yes' if verdict['met'] else 'NO'}"
        )
    memory = results["worker_peak_memory_mib"]
    lines += [
        "",
        f"Billing dashboard / admin index latency (p50): "
        f"{results['ratios']['dashboard_vs_admin_index_latency']}, with "
        f"{results['settings']['dashboard_subscriptions']} subscriptions",
        f"Peak memory per worker (MiB): {', '.join(map(str, memory))}",
        f"Stylesheet: {results['css']['bytes']} bytes, {results['css']['gzip_bytes']} gzipped",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="per page (max 3000)")
    parser.add_argument("--concurrency", type=int, default=4, help="connections (max 16)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--events", type=int, default=300, help="webhook events (max 2000)")
    parser.add_argument(
        "--dashboard-subscriptions",
        type=int,
        default=10000,
        help="subscriptions behind the billing dashboard (max 50000)",
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="an empty PostgreSQL database, say (default: a SQLite file in the temp directory)",
    )
    args = parser.parse_args()
    requests = max(20, min(args.requests, 3000))
    concurrency = max(1, min(args.concurrency, 16))
    events = max(10, min(args.events, 2000))
    dashboard_subscriptions = max(100, min(args.dashboard_subscriptions, 50000))
    about = machine()

    with running_server() as server, Processes() as processes:
        redis = processes.redis_start()
        env = {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DATABASE_URL": args.database_url or f"sqlite:///{DATABASE}",
            "STRIPE_API_BASE": server.api_base,
            "STRIPE_TEST_SECRET_KEY": server.api_key,
            "DJSTRIPE_WEBHOOK_SECRET": webhook_bench.SECRET,
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-secret-key-" + uuid.uuid4().hex,
            "ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            "CELERY_BROKER_URL": redis.url,
        }
        django_setup(env)
        seeded = seed(server, dashboard_subscriptions=dashboard_subscriptions)
        import stripe

        client = stripe.StripeClient(server.api_key, base_addresses={"api": server.api_base})
        print(f"Making {events} events on the local Stripe server...", flush=True)
        made = webhook_bench.events_make(client=client, api_base=server.api_base, count=events)
        bodies = [json.dumps(event).encode() for event in made]
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
            cwd=ROOT,
            env={**os.environ, **env},
            check=True,
        )

        port = free_port()
        cookie = {"Cookie": f"sessionid={seeded['session']}"}
        staff = {"Cookie": f"sessionid={seeded['staff_session']}"}
        subscriber = "subscriber"
        pages = {
            "bare Django view": ("/bench/bare/", {}, None),
            "pricing page": ("/pricing/", {}, None),
            "pricing page, ETag revalidated": ("/pricing/", {}, None),
            "pricing htmx partial": (
                "/pricing/?interval=year&seats=3",
                {"HX-Request": "true"},
                None,
            ),
            "pricing full page, same query": ("/pricing/?interval=year&seats=3", {}, None),
            "bare view, logged in": ("/bench/bare/logged-in/", cookie, subscriber),
            "empty page on base.html, logged in": ("/bench/base-page/", cookie, subscriber),
            "status page /subscription/": ("/subscription/", cookie, subscriber),
            "gated Pro page": ("/subscription/demo/pro/", cookie, subscriber),
            "same page ungated": ("/bench/ungated/pro/", cookie, subscriber),
            # Pro to Basic waits for the period's end: the screen makes no Stripe call.
            "change screen (downgrade)": ("/subscription/change/?plan=basic", cookie, subscriber),
            "admin index (staff)": ("/admin/", staff, "staff"),
            "billing dashboard (staff)": ("/admin/billing/", staff, "staff"),
        }
        gunicorn = processes.gunicorn_start(
            env=env, port=port, workers=args.workers, ready_path="/bench/bare/"
        )
        base = f"http://127.0.0.1:{port}"
        etag = http.client.HTTPConnection("127.0.0.1", port)
        etag.request(
            "GET", "/pricing/", headers={"Cookie": "csrftoken=benchbenchbenchbenchbenchbenchbe"}
        )
        tag = etag.getresponse().getheader("ETag") or ""
        etag.close()
        scenarios = []
        for label, (path, headers, _) in pages.items():
            headers = dict(headers)
            if label.startswith("pricing page"):
                headers["Cookie"] = "csrftoken=benchbenchbenchbenchbenchbenchbe"
            if label == "pricing page, ETag revalidated":
                headers["If-None-Match"] = tag
            scenarios.append(Scenario(label, path, headers))
        print(
            f"{requests} requests per page, {concurrency} connections, gunicorn "
            f"{args.workers} workers x 4 threads on {base}",
            flush=True,
        )
        measure_side_by_side(port, scenarios, requests, concurrency)
        print(f"{events} signed events to each webhook endpoint...", flush=True)
        hooks = webhook_bench.endpoints_compare(
            base=base,
            endpoint_uuid=seeded["endpoint_uuid"],
            bodies=bodies,
            concurrency=concurrency,
            worker_start=lambda: processes.celery_worker_start(
                env=env, concurrency=WORKER_CONCURRENCY
            ),
            worker_stop=processes.stop,
        )
        memory = worker_peak_memory(gunicorn.pid)

    sql = queries_per_page({k: v for k, v in pages.items() if "ETag" not in k})
    by_label = {scenario.label: scenario.result() for scenario in scenarios}
    css = (ROOT / "static" / "css" / "dist" / "styles.css").read_bytes()
    css_gzip = len(gzip.compress(css, compresslevel=9))
    full, partial = by_label["pricing full page, same query"], by_label["pricing htmx partial"]
    ratios = {
        "pricing_vs_bare_rps": round(
            by_label["pricing page"]["rps"] / by_label["bare Django view"]["rps"], 3
        ),
        "partial_vs_full_bytes": round(partial["bytes"] / full["bytes"], 3),
        "gated_vs_ungated_latency": round(
            by_label["gated Pro page"]["p50_ms"] / by_label["same page ungated"]["p50_ms"], 3
        ),
        "status_vs_bare_rps": round(
            by_label["status page /subscription/"]["rps"] / by_label["bare Django view"]["rps"], 3
        ),
        "gated_vs_bare_rps": round(
            by_label["gated Pro page"]["rps"] / by_label["bare Django view"]["rps"], 3
        ),
        "change_vs_bare_rps": round(
            by_label["change screen (downgrade)"]["rps"] / by_label["bare Django view"]["rps"], 3
        ),
        "webhook_vs_djstripe_rps": round(
            hooks["portal_worker_elsewhere"]["rps"] / hooks["djstripe"]["rps"], 2
        ),
        "dashboard_vs_admin_index_latency": round(
            by_label["billing dashboard (staff)"]["p50_ms"]
            / by_label["admin index (staff)"]["p50_ms"],
            2,
        ),
        "css_gzip_kb": round(css_gzip / 1024, 2),
    }
    about["load_average_after"] = [round(value, 2) for value in os.getloadavg()]
    results = {
        "measured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": about,
        "note": "Load generator, gunicorn, the local Stripe server, Redis and (during the webhook "
        "phase) the Celery worker share the machine's cores; "
        "the machine was shared with other work (see the load averages).",
        "settings": {
            "requests_per_page": requests,
            "concurrency": concurrency,
            "gunicorn_workers": args.workers,
            "gunicorn_threads": 4,
            "webhook_events": events,
            "dashboard_subscriptions": dashboard_subscriptions,
            "database": "PostgreSQL"
            if args.database_url.startswith("postgres")
            else "SQLite (WAL)",
            "celery_broker": f"Redis {redis.version}, throwaway, on the same machine",
            "celery_worker": f"prefork, {WORKER_CONCURRENCY} processes, on the same machine: "
            "processing while Portal acknowledges, then started after Portal's acknowledgements "
            "(as when workers run on other machines)",
        },
        "pages": by_label,
        "sql_queries": sql,
        "webhooks": hooks,
        "worker_peak_memory_mib": memory,
        "css": {"bytes": len(css), "gzip_bytes": css_gzip},
        "ratios": ratios,
    }
    results["targets"] = verdicts(ratios)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(table(results))
    print(f"\nWrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
