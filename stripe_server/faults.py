"""Webhook delivery fault knobs, set through the admin API under `/_local/webhooks/`.

They make delivery misbehave the ways real Stripe delivery can, so a receiver can prove it
copes: send some events twice, shuffle the order of a batch, hold each send back, lose a
fraction of deliveries for good, or pause delivery altogether and resume later (everything
queued meanwhile then goes out as one batch). With a `seed`, every decision is a function of
the seed and the delivery (its sequence number and attempt), so a run on a fresh server
repeats exactly. A log of what the knobs did answers "what did the receiver miss?".
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, replace
from typing import Any

from stripe_server.context import Context
from stripe_server.routing import route
from stripe_server.store import Delivery
from stripe_server.webhooks import DeliveryFaults
from stripe_server.wire import Params, invalid_request

MAX_DELAY_SECONDS = 30.0
LOG_SIZE = 2000


@dataclass(frozen=True)
class FaultSettings:
    """What the knobs are set to; the defaults inject nothing."""

    duplicate: float = 0.0  # fraction of deliveries sent twice in a row
    shuffle: bool = False  # shuffle each batch of due deliveries
    delay: float = 0.0  # seconds to hold back each send
    drop: float = 0.0  # fraction of delivery attempts lost (recorded failed, never retried)
    paused: bool = False  # hold every delivery until resumed
    seed: int | None = None  # makes every decision repeatable


class FaultKnobs(DeliveryFaults):
    """`DeliveryFaults` driven by `FaultSettings` that the admin API changes at run time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.settings = FaultSettings()
        self._session_seed = random.SystemRandom().randrange(2**32)
        self._log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)

    # --- configuration ------------------------------------------------------------------

    def configure(self, **changes: Any) -> FaultSettings:
        with self._lock:
            self.settings = replace(self.settings, **changes)
            return self.settings

    def reset(self) -> FaultSettings:
        with self._lock:
            self.settings = FaultSettings()
            self._log.clear()
            return self.settings

    def log(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._log)

    # --- the DeliveryFaults hook --------------------------------------------------------

    @property
    def paused(self) -> bool:
        return self.settings.paused

    def _random(self, *parts: object) -> random.Random:
        seed = self.settings.seed if self.settings.seed is not None else self._session_seed
        # Repeatable decisions for tests, not secrets.
        return random.Random(":".join(str(part) for part in (seed, *parts)))  # noqa: S311

    def _note(self, delivery: Delivery, action: str) -> None:
        self._log.append(
            {
                "action": action,
                "attempt": delivery.attempts + 1,
                "delivery": delivery.id,
                "endpoint": delivery.endpoint_id,
                "event": delivery.event_id,
                "at": time.time(),
            }
        )

    def arrange(self, due: list[Delivery]) -> list[Delivery]:
        settings = self.settings
        if settings.paused or not due:
            return []
        order = list(due)
        if settings.shuffle and len(order) > 1:
            self._random("shuffle", *(d.id for d in order)).shuffle(order)
        arranged = []
        with self._lock:
            for delivery in order:
                arranged.append(delivery)
                duplicated = settings.duplicate > 0 and (
                    self._random("duplicate", delivery.id, delivery.attempts).random()
                    < settings.duplicate
                )
                if duplicated:
                    arranged.append(delivery)
                    self._note(delivery, "duplicated")
        return arranged

    def delay_before(self, delivery: Delivery) -> float:
        return self.settings.delay

    def drop(self, delivery: Delivery) -> bool:
        fraction = self.settings.drop
        dropped = fraction > 0 and (
            self._random("drop", delivery.id, delivery.attempts).random() < fraction
        )
        with self._lock:
            self._note(delivery, "dropped" if dropped else "sent")
        return dropped


FAULT_KNOBS = FaultKnobs()


def _fraction(params: Params, key: str) -> float | None:
    text = params.string(key)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise invalid_request(f"Invalid number: {key}={text}", param=key) from None
    if not 0.0 <= value <= 1.0:
        raise invalid_request(f"{key} must be a fraction between 0 and 1.", param=key)
    return value


def _delay(params: Params) -> float | None:
    text = params.string("delay")
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise invalid_request(f"Invalid number: delay={text}", param="delay") from None
    if not 0.0 <= value <= MAX_DELAY_SECONDS:
        raise invalid_request(
            f"delay must be between 0 and {MAX_DELAY_SECONDS:g} seconds.", param="delay"
        )
    return value


def _shown(settings: FaultSettings) -> dict[str, Any]:
    return {"object": "delivery_faults", **asdict(settings)}


@route("GET", "/_local/webhooks/faults", public=True)
def faults_show(ctx: Context) -> dict[str, Any]:
    return _shown(FAULT_KNOBS.settings)


@route("POST", "/_local/webhooks/faults", public=True)
def faults_set(ctx: Context) -> dict[str, Any]:
    """Change some knobs (`duplicate`, `drop`: fractions; `delay`: seconds; `shuffle`,
    `paused`: booleans; `seed`: an integer, or empty for none); the others keep their values."""
    params = ctx.params
    params.reject_unknown({"duplicate", "shuffle", "delay", "drop", "paused", "seed"})
    changes: dict[str, Any] = {}
    for key in ("duplicate", "drop"):
        value = _fraction(params, key)
        if value is not None:
            changes[key] = value
    delay = _delay(params)
    if delay is not None:
        changes["delay"] = delay
    for key in ("shuffle", "paused"):
        flag = params.boolean(key)
        if flag is not None:
            changes[key] = flag
    if params.has("seed"):
        changes["seed"] = params.integer("seed")
    return _shown(FAULT_KNOBS.configure(**changes))


@route("POST", "/_local/webhooks/faults/reset", public=True)
def faults_reset(ctx: Context) -> dict[str, Any]:
    """Back to faithful delivery (and resumed); clears the log."""
    return _shown(FAULT_KNOBS.reset())


@route("POST", "/_local/webhooks/pause", public=True)
def deliveries_pause(ctx: Context) -> dict[str, Any]:
    return _shown(FAULT_KNOBS.configure(paused=True))


@route("POST", "/_local/webhooks/resume", public=True)
def deliveries_resume(ctx: Context) -> dict[str, Any]:
    return _shown(FAULT_KNOBS.configure(paused=False))


@route("GET", "/_local/webhooks/log", public=True)
def faults_log(ctx: Context) -> dict[str, Any]:
    """What the knobs did to each delivery attempt (`sent`, `duplicated`, `dropped`), oldest
    first; `event=` narrows it to one event."""
    ctx.params.reject_unknown({"event"})
    event = ctx.params.string("event")
    entries = [e for e in FAULT_KNOBS.log() if event is None or e["event"] == event]
    return {"object": "list", "data": entries}


@route("GET", "/_local/webhooks/deliveries", public=True)
def deliveries_list(ctx: Context) -> dict[str, Any]:
    """Delivery state of the latest events (`limit`, default 50), newest first, optionally
    only `type=` events or deliveries with `status=` pending|succeeded|failed."""
    params = ctx.params
    params.reject_unknown({"limit", "type", "status"})
    limit = params.integer("limit", minimum=1, maximum=500, default=50)
    assert limit is not None
    event_type = params.string("type")
    status = params.string("status", choices=("pending", "succeeded", "failed"))
    rows = []
    for event in ctx.db.all("event"):
        if event_type is not None and event["type"] != event_type:
            continue
        for delivery in ctx.db.deliveries_for_event(event["id"]):
            if status is None or delivery["status"] == status:
                rows.append({"event": event["id"], "type": event["type"], **delivery})
        if len(rows) >= limit:
            break
    return {"object": "list", "data": rows[:limit]}
