"""Webhook delivery: signing exactly as Stripe does, sending in the background, retrying.

All delivery behaviour lives here. The worker asks a `DeliveryFaults` object what to do with
each batch of due deliveries; the default sends each once, in order. Fault knobs (duplicates,
shuffling, delays, drops, pausing) plug in by replacing that object, without touching the
worker's bookkeeping.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from stripe_server.events import with_delivery_state
from stripe_server.store import Delivery, Store
from stripe_server.versions import ACCOUNT_DEFAULT, render_event_data

logger = logging.getLogger("stripe_server.webhooks")

# Never route deliveries through HTTP(S)_PROXY: receivers are local development servers.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    """The `Stripe-Signature` value: `t=<unix>,v1=<HMAC-SHA256(secret, "<t>.<payload>")>`."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff between attempts; Stripe's spans days, the local default minutes."""

    first_delay: float = 2.0
    factor: float = 2.0
    max_delay: float = 600.0
    max_attempts: int = 8
    timeout: float = 10.0

    def delay_after(self, attempts: int) -> float:
        return min(self.max_delay, self.first_delay * self.factor ** max(0, attempts - 1))


class DeliveryFaults:
    """Hook point for fault injection; this default injects none.

    `arrange` receives the due deliveries in order and returns what to send: it may reorder
    (shuffle), repeat (duplicates) or omit (drop, pause) entries. `delay_before` may hold a
    send back. A subclass can be handed to `WebhookWorker(faults=...)`.
    """

    def arrange(self, due: list[Delivery]) -> list[Delivery]:
        return due

    def delay_before(self, delivery: Delivery) -> float:
        return 0.0

    def drop(self, delivery: Delivery) -> bool:
        """True to lose this attempt: it is recorded as failed, never sent nor retried."""
        return False

    @property
    def paused(self) -> bool:
        """While True, `arrange` holds everything back and the worker polls slowly."""
        return False


@dataclass(frozen=True)
class _Attempt:
    delivery: Delivery
    url: str
    secret: str
    payload: bytes


class WebhookWorker(threading.Thread):
    """Sends due deliveries, records each outcome, and schedules retries with backoff."""

    def __init__(
        self,
        store: Store,
        retry: RetryPolicy | None = None,
        faults: DeliveryFaults | None = None,
    ) -> None:
        super().__init__(name="webhook-delivery", daemon=True)
        self.store = store
        self.retry = retry or RetryPolicy()
        self.faults = faults or DeliveryFaults()
        self._wakeup = threading.Condition()
        self._stopping = False

    def wake(self) -> None:
        """Called after a transaction that queued deliveries commits."""
        with self._wakeup:
            self._wakeup.notify()

    def stop(self) -> None:
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify()

    def run(self) -> None:
        while not self._stopping:
            try:
                attempts = self._collect_due()
                for attempt in attempts:
                    if self._stopping:
                        return
                    self._send(attempt)
                if not attempts:
                    self._sleep_until_next_due()
            except Exception:
                # A delivery bug must not kill the worker: log it and keep serving.
                logger.exception("webhook worker iteration failed")
                time.sleep(0.5)

    def _sleep_until_next_due(self) -> None:
        with self.store.transaction() as db:
            next_due = db.next_delivery_due_at()
        timeout = 1.0 if next_due is None else max(0.01, min(1.0, next_due - time.time()))
        if self.faults.paused:
            timeout = 0.2
        with self._wakeup:
            if not self._stopping:
                self._wakeup.wait(timeout)

    def _collect_due(self) -> list[_Attempt]:
        """Load due deliveries and their payloads; the HTTP calls happen outside the lock."""
        attempts: list[_Attempt] = []
        with self.store.transaction() as db:
            due = self.faults.arrange(db.deliveries_due(time.time()))
            for delivery in due:
                endpoint = db.get(delivery.endpoint_id, "webhook_endpoint")
                event = db.get(delivery.event_id, "event")
                if endpoint is None or event is None or endpoint["status"] != "enabled":
                    db.delivery_record(
                        delivery.id,
                        status="failed",
                        attempts=delivery.attempts,
                        next_attempt_at=delivery.next_attempt_at,
                        http_status=None,
                        error="endpoint deleted or disabled",
                        now=time.time(),
                    )
                    continue
                # Rendered in the endpoint's API version (the account's when it has none).
                version = endpoint.get("api_version") or ACCOUNT_DEFAULT
                rendered = render_event_data(db, with_delivery_state(db, event), version)
                payload = json.dumps(rendered, indent=2).encode()
                attempts.append(_Attempt(delivery, endpoint["url"], endpoint["secret"], payload))
        return attempts

    def _send(self, attempt: _Attempt) -> None:
        delay = self.faults.delay_before(attempt.delivery)
        if delay > 0:
            time.sleep(delay)
        if self.faults.drop(attempt.delivery):
            with self.store.transaction() as db:
                db.delivery_record(
                    attempt.delivery.id,
                    status="failed",
                    attempts=attempt.delivery.attempts + 1,
                    next_attempt_at=time.time(),
                    http_status=None,
                    error="dropped by the delivery fault knobs",
                    now=time.time(),
                )
            return
        http_status, error = self._post(attempt)
        succeeded = http_status is not None and 200 <= http_status < 300
        count = attempt.delivery.attempts + 1
        now = time.time()
        if succeeded:
            status, next_at = "succeeded", now
        elif count >= self.retry.max_attempts:
            status, next_at = "failed", now
        else:
            status, next_at = "pending", now + self.retry.delay_after(count)
        if not succeeded:
            logger.info(
                "webhook %s to %s failed (%s); attempt %d, %s",
                attempt.delivery.event_id,
                attempt.url,
                error or http_status,
                count,
                "giving up" if status == "failed" else f"retrying in {next_at - now:.1f}s",
            )
        with self.store.transaction() as db:
            db.delivery_record(
                attempt.delivery.id,
                status=status,
                attempts=count,
                next_attempt_at=next_at,
                http_status=http_status,
                error=error,
                now=now,
            )

    def _post(self, attempt: _Attempt) -> tuple[int | None, str | None]:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": signature_header(attempt.payload, attempt.secret, int(time.time())),
        }
        request = urllib.request.Request(  # noqa: S310 - endpoint URLs are validated http(s)
            attempt.url, data=attempt.payload, headers=headers, method="POST"
        )
        try:
            with _OPENER.open(request, timeout=self.retry.timeout) as response:
                response.read()
                return response.status, None
        except urllib.error.HTTPError as exc:
            return exc.code, f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            return None, f"{type(exc).__name__}: {exc}"


def delivery_summary(store: Store, event_id: str) -> list[dict[str, Any]]:
    """Per-endpoint delivery state of one event (for the admin API)."""
    with store.transaction() as db:
        return db.deliveries_for_event(event_id)
