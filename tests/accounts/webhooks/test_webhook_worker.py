"""With a broker, a real Celery worker processes the events the endpoint stores.

The test starts `redis-server` (Debian's package, which `make test` installs) on a free port,
or uses the one at `PORTAL_TEST_REDIS_URL` (`.ci/run` starts one), and a
`celery -A portal worker` subprocess on the test database and the local Stripe server.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import close_old_connections
from django.test import Client
from djstripe.models import Product
from kombu import pools as kombu_pools

from accounts.webhooks.models import WebhookEvent
from accounts.webhooks.scheduling import WAKE_CACHE_KEY
from portal.celery import app as celery_app
from portal.stripe_client import stripe_client
from tests.accounts.webhooks.webhook_helpers import WebhookPoster, burst_event, unique
from tests.processes import subprocess_database_url

WORKER_NAME = "webhooks-test@%h"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    external = os.environ.get("PORTAL_TEST_REDIS_URL")
    if external:
        yield external
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            "redis-server is not installed: `make test` installs Debian's redis-server "
            "(or run `apt-get install redis-server`)."
        )
    port = free_port()
    log = tmp_path_factory.mktemp("redis") / "redis.log"
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--daemonize", "no", "--logfile", str(log)],
    )  # fmt: skip
    try:

        def answers() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    return sock.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        wait_for(answers, timeout=15, what="redis-server to answer PING")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def broker_pools_reset() -> None:
    """Forget the connection pools made for the previous broker (or test): even eager calls
    open one (lazily) for the default broker, and Celery keeps it when `broker_url` changes."""
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    # Kombu keeps producer pools per connection in a registry of its own: the previous test's,
    # closed above, would be handed out again for the same broker URL.
    kombu_pools.reset()


@pytest.fixture
def celery_worker(redis_url, stripe_settings, tmp_path) -> Iterator[Path]:
    """A `celery -A portal worker` on the broker, and this process sending tasks to it."""
    log = tmp_path / "worker.log"
    environment = {
        **os.environ,
        "DATABASE_URL": subprocess_database_url(),
        "CELERY_BROKER_URL": redis_url,
        "STRIPE_API_BASE": stripe_settings.api_base,
        "STRIPE_TEST_SECRET_KEY": stripe_settings.api_key,
    }
    environment.pop("TEST_DB_NAME", None)
    celery = Path(sys.executable).with_name("celery")
    with log.open("w") as output:
        worker = subprocess.Popen(
            [str(celery), "-A", "portal", "worker", "--pool", "solo", "--loglevel", "INFO",
             "--hostname", WORKER_NAME, "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=django_settings.BASE_DIR, env=environment, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    previous = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    broker_pools_reset()
    celery_app.conf.broker_url = redis_url
    celery_app.conf.task_always_eager = False
    try:
        wait_for(
            lambda: " ready." in log.read_text() or worker.poll() is not None,
            timeout=60,
            what="the Celery worker to be ready",
        )
        assert worker.poll() is None, log.read_text()
        yield log
    finally:
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = previous
        broker_pools_reset()
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_processes_a_delivered_event(poster, make_event, celery_worker):
    event = make_event(
        lambda client: client.v1.products.create(params={"name": unique("Worker")}),
        "product.created",
    )

    response = poster.post(event)

    assert response.status_code == 200
    stored = WebhookEvent.objects.get(stripe_id=event["id"])
    wait_for(
        lambda: WebhookEvent.objects.get(pk=stored.pk).status == WebhookEvent.Status.PROCESSED,
        timeout=60,
        what=f"the worker to process {event['id']}; its log:\n{celery_worker.read_text()}",
    )
    stored.refresh_from_db()
    assert stored.processed_by == f"webhooks-test@{socket.gethostname()}"
    assert Product.objects.filter(id=event["data"]["object"]["id"]).exists()
    assert "accounts.webhooks.drain" in celery_worker.read_text()


@pytest.mark.django_db(transaction=True)
def test_a_burst_wakes_the_worker_a_few_times_not_once_per_event(poster, make_event, celery_worker):
    events = [
        make_event(
            lambda client: client.v1.products.create(params={"name": unique("Burst")}),
            "product.created",
        )
        for _ in range(8)
    ]
    cache.delete(WAKE_CACHE_KEY)  # a window an earlier test opened would cover this burst

    for event in events:
        assert poster.post(event).status_code == 200

    ids = [event["id"] for event in events]
    wait_for(
        lambda: (
            WebhookEvent.objects.filter(stripe_id__in=ids, status="processed").count() == len(ids)
        ),
        timeout=60,
        what=f"the worker to process the burst; its log:\n{celery_worker.read_text()}",
    )
    for event in events:
        assert Product.objects.filter(id=event["data"]["object"]["id"]).exists()
    # The window's leading and trailing drains (more only if posting took over a second).
    drains = re.findall(
        r"Task accounts\.webhooks\.drain\[[^\]]+\] received", celery_worker.read_text()
    )
    assert 1 <= len(drains) < len(events)


@pytest.mark.django_db(transaction=True)
def test_a_burst_with_duplicates_from_many_senders_is_each_processed_once(
    webhook_secret, stripe_settings, celery_worker
):
    client = stripe_client()
    products = [client.v1.products.create(params={"name": unique("Burst")}) for _ in range(5)]
    rng = random.Random(300)  # noqa: S311 - a reproducible order, not a secret
    now = int(time.time())

    events = [
        burst_event(number, products=products, rng=rng, now=now, prefix="drain")
        for number in range(300)
    ]
    deliveries = events + rng.sample(events, 100)  # a third delivered twice
    rng.shuffle(deliveries)
    senders = [WebhookPoster(client=Client(), secret=webhook_secret) for _ in range(4)]
    cache.delete(WAKE_CACHE_KEY)

    def deliver(numbered: tuple[int, dict]) -> int:
        number, payload = numbered
        try:
            return senders[number % len(senders)].post(payload).status_code
        finally:
            close_old_connections()

    with ThreadPoolExecutor(len(senders)) as pool:
        assert set(pool.map(deliver, enumerate(deliveries))) == {200}

    stored = WebhookEvent.objects.filter(stripe_id__in=[payload["id"] for payload in events])
    wait_for(
        lambda: stored.filter(status="processed").count() == len(events),
        timeout=120,
        what=f"the worker to process the burst; its log:\n{celery_worker.read_text()}",
    )
    assert stored.count() == len(events)
    assert set(stored.values_list("attempts", flat=True)) == {1}
    assert set(stored.values_list("processed_by", flat=True)) == {
        f"webhooks-test@{socket.gethostname()}"
    }
    drains = re.findall(
        r"Task accounts\.webhooks\.drain\[[^\]]+\] received", celery_worker.read_text()
    )
    assert len(drains) < len(events) // 10
