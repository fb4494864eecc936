"""SQLite persistence: every object, event, idempotent response and webhook delivery.

Objects are stored as the JSON Stripe would return (plus includable fields such as a price's
`tiers`, which `expand.py` strips unless asked for). Meter events, which have no id and are
read by meter, customer and time, have a table of their own. One connection is shared behind a
lock and every API request runs in one `BEGIN IMMEDIATE` transaction, so a request that fails
leaves no trace and concurrent requests see each other's writes whole.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATABASE_FILENAME = "stripe.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    created INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS objects_by_kind ON objects (kind, created DESC, seq DESC);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_http_status INTEGER,
    last_error TEXT,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS deliveries_by_event ON deliveries (event_id);
CREATE TABLE IF NOT EXISTS meter_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    identifier TEXT NOT NULL,
    event_name TEXT NOT NULL,
    meter TEXT,
    customer TEXT,
    timestamp INTEGER NOT NULL,
    value TEXT,
    created INTEGER NOT NULL,
    canceled INTEGER NOT NULL DEFAULT 0,
    error_code TEXT,
    error_message TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS meter_events_by_identifier ON meter_events (identifier, created);
CREATE INDEX IF NOT EXISTS meter_events_usage ON meter_events (meter, customer, timestamp);
"""


@dataclass(frozen=True)
class MeterEventRecord:
    """A meter event as received (`data`, what the API answered), with what it counts for:
    the `meter` and `customer` it was matched to and its `value`, or the asynchronous error
    (`error_code`, `error_message`) that kept it from counting, as Stripe reports one later."""

    identifier: str
    event_name: str
    meter: str | None
    customer: str | None
    timestamp: int
    value: str | None
    created: int
    error_code: str | None
    error_message: str | None
    data: dict[str, Any]
    canceled: bool = False
    seq: int | None = None


@dataclass(frozen=True)
class Reading:
    """One counted meter event: when it happened, its value, and its order of arrival."""

    timestamp: int
    value: str | None
    seq: int


@dataclass(frozen=True)
class Delivery:
    """One event to be sent to one webhook endpoint, with its retry state."""

    id: int
    event_id: str
    endpoint_id: str
    status: str
    attempts: int
    next_attempt_at: float


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=False)


_SELECT_METER_EVENTS = (
    "SELECT identifier, event_name, meter, customer, timestamp, value, created, error_code, "
    "error_message, data, canceled, seq FROM meter_events "
)


def _meter_event(row: tuple[Any, ...]) -> MeterEventRecord:
    *fields, data, canceled, seq = row
    return MeterEventRecord(*fields, data=json.loads(data), canceled=bool(canceled), seq=seq)


class Store:
    """The database file and the lock that turns each request into one transaction."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.executescript(_SCHEMA)
        self._lock = threading.RLock()

    @classmethod
    def open(cls, data_dir: Path, *, fresh: bool = False) -> Store:
        database = data_dir / DATABASE_FILENAME
        if fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{database}{suffix}").unlink(missing_ok=True)
        return cls(database)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield Session(self._connection)
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._connection.close()


class Session:
    """Reads and writes inside one transaction (only valid within `Store.transaction`)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    # objects
    def get(self, object_id: str, kind: str | None = None) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT kind, data FROM objects WHERE id = ?", (object_id,)
        ).fetchone()
        if row is None or (kind is not None and row[0] != kind):
            return None
        return json.loads(row[1])

    def kind_of(self, object_id: str) -> str | None:
        row = self._db.execute("SELECT kind FROM objects WHERE id = ?", (object_id,)).fetchone()
        return row[0] if row else None

    def save(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        self._db.execute(
            "INSERT INTO objects (id, kind, created, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET data = excluded.data",
            (obj["id"], kind, int(obj.get("created") or 0), _dumps(obj)),
        )
        return obj

    def delete(self, object_id: str) -> None:
        self._db.execute("DELETE FROM objects WHERE id = ?", (object_id,))

    @contextmanager
    def savepoint(self, name: str = "nested") -> Iterator[None]:
        """Undo what the block wrote if it raises; the surrounding transaction goes on."""
        self._db.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self._db.execute(f"ROLLBACK TO {name}")
            self._db.execute(f"RELEASE {name}")
            raise
        self._db.execute(f"RELEASE {name}")

    @contextmanager
    def scratch(self, name: str = "scratch") -> Iterator[None]:
        """Undo everything the block wrote, whether it raises or not.

        Previews run the real lifecycle (the same functions an update or a renewal runs) inside
        one of these, read what it produced, and leave the store as it was.
        """
        self._db.execute(f"SAVEPOINT {name}")
        try:
            yield
        finally:
            self._db.execute(f"ROLLBACK TO {name}")
            self._db.execute(f"RELEASE {name}")

    def all(self, kind: str) -> list[dict[str, Any]]:
        """Every object of a kind, newest first (Stripe's list order)."""
        rows = self._db.execute(
            "SELECT data FROM objects WHERE kind = ? ORDER BY created DESC, seq DESC", (kind,)
        )
        return [json.loads(row[0]) for row in rows]

    # meta
    def meta_get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def meta_set(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def next_sequence(self, name: str) -> int:
        current = int(self.meta_get(f"sequence:{name}") or 0) + 1
        self.meta_set(f"sequence:{name}", str(current))
        return current

    # idempotency
    def idempotent_response(self, key: str) -> tuple[str, int, str] | None:
        row = self._db.execute(
            "SELECT fingerprint, status, body FROM idempotency WHERE key = ?", (key,)
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def remember_response(
        self, key: str, fingerprint: str, status: int, body: str, created: int
    ) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO idempotency (key, fingerprint, status, body, created) "
            "VALUES (?, ?, ?, ?, ?)",
            (key, fingerprint, status, body, created),
        )

    # meter events
    def meter_event_add(self, record: MeterEventRecord) -> None:
        self._db.execute(
            "INSERT INTO meter_events (identifier, event_name, meter, customer, timestamp, "
            "value, created, canceled, error_code, error_message, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
            (
                record.identifier,
                record.event_name,
                record.meter,
                record.customer,
                record.timestamp,
                record.value,
                record.created,
                record.error_code,
                record.error_message,
                _dumps(record.data),
            ),
        )

    def meter_event_received_since(self, identifier: str, since: int) -> MeterEventRecord | None:
        """The latest meter event with `identifier` received at or after `since`."""
        row = self._db.execute(
            _SELECT_METER_EVENTS
            + "WHERE identifier = ? AND created >= ? ORDER BY seq DESC LIMIT 1",
            (identifier, since),
        ).fetchone()
        return None if row is None else _meter_event(row)

    def meter_event_cancel(self, seq: int) -> None:
        self._db.execute("UPDATE meter_events SET canceled = 1 WHERE seq = ?", (seq,))

    def meter_readings(self, meter: str, customer: str, start: int, end: int) -> list[Reading]:
        """The counted (not canceled) events of `meter` for `customer` with a timestamp in
        [start, end), oldest first (by timestamp, then arrival)."""
        rows = self._db.execute(
            "SELECT timestamp, value, seq FROM meter_events WHERE meter = ? AND customer = ? "
            "AND timestamp >= ? AND timestamp < ? AND canceled = 0 AND error_code IS NULL "
            "ORDER BY timestamp, seq",
            (meter, customer, start, end),
        )
        return [Reading(*row) for row in rows]

    def meter_event_errors(self, limit: int) -> list[MeterEventRecord]:
        """The latest meter events that did not count, newest first."""
        rows = self._db.execute(
            _SELECT_METER_EVENTS + "WHERE error_code IS NOT NULL ORDER BY seq DESC LIMIT ?",
            (limit,),
        )
        return [_meter_event(row) for row in rows]

    # webhook deliveries
    def delivery_add(self, event_id: str, endpoint_id: str, due_at: float) -> None:
        self._db.execute(
            "INSERT INTO deliveries (event_id, endpoint_id, status, next_attempt_at, updated) "
            "VALUES (?, ?, 'pending', ?, ?)",
            (event_id, endpoint_id, due_at, due_at),
        )

    def deliveries_due(self, now: float, limit: int = 50) -> list[Delivery]:
        rows = self._db.execute(
            "SELECT id, event_id, endpoint_id, status, attempts, next_attempt_at FROM deliveries "
            "WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id "
            "LIMIT ?",
            (now, limit),
        )
        return [Delivery(*row) for row in rows]

    def next_delivery_due_at(self) -> float | None:
        row = self._db.execute(
            "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending'"
        ).fetchone()
        return row[0]

    def delivery_record(
        self,
        delivery_id: int,
        *,
        status: str,
        attempts: int,
        next_attempt_at: float,
        http_status: int | None,
        error: str | None,
        now: float,
    ) -> None:
        self._db.execute(
            "UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, "
            "last_http_status = ?, last_error = ?, updated = ? WHERE id = ?",
            (status, attempts, next_attempt_at, http_status, error, now, delivery_id),
        )

    def delivery_counts(self, event_id: str) -> dict[str, int]:
        """How many of an event's deliveries are pending, succeeded or failed."""
        counts = {"pending": 0, "succeeded": 0, "failed": 0}
        rows = self._db.execute(
            "SELECT status, COUNT(*) FROM deliveries WHERE event_id = ? GROUP BY status",
            (event_id,),
        )
        for status, count in rows:
            counts[status] = count
        return counts

    def deliveries_for_event(self, event_id: str) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT endpoint_id, status, attempts, last_http_status, last_error FROM deliveries "
            "WHERE event_id = ? ORDER BY id",
            (event_id,),
        )
        keys = ("endpoint", "status", "attempts", "last_http_status", "last_error")
        return [dict(zip(keys, row, strict=True)) for row in rows]
