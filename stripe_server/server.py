"""The HTTP server: authentication, idempotency, one transaction per request, routing, errors.

`StripeServer` wires the store, the clock, the webhook worker and the billing ticker together;
`serve` runs it in the foreground (what `python -m stripe_server` does).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import signal
import socket
import sys
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from stripe_server import admin, extras, resources, versions
from stripe_server.clock import Clock
from stripe_server.context import Context
from stripe_server.faults import FAULT_KNOBS
from stripe_server.hosted.page import RawResponse
from stripe_server.ids import new_request_id
from stripe_server.lifecycle.billing_pass import run_due
from stripe_server.resources.account import ACCOUNT_ID
from stripe_server.routing import NOT_EMULATED, ROUTES
from stripe_server.store import Store
from stripe_server.webhooks import DeliveryFaults, RetryPolicy, WebhookWorker
from stripe_server.wire import (
    Params,
    StripeError,
    api_error,
    authentication_failed,
    decode_form,
    idempotency_mismatch,
)

logger = logging.getLogger("stripe_server")

assert resources  # imported for its side effect: registering every resource's routes
assert admin
assert extras  # Checkout, Billing Portal, test clocks, hosted pages, fault knobs

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 12111
MAX_BODY_BYTES = 1_000_000
_TEST_KEY = re.compile(r"sk_test_[A-Za-z0-9_]{8,}")


@dataclass
class ServerConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    data_dir: Path = field(default_factory=lambda: Path(".local_stripe"))
    fresh: bool = False
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # How often the server itself renews due subscriptions and ends trials (wall seconds).
    billing_interval: float = 5.0


class StripeServer:
    """A running emulator: HTTP server, database, clock, webhook worker, billing ticker."""

    def __init__(self, config: ServerConfig, faults: DeliveryFaults | None = None) -> None:
        self.config = config
        self.store = Store.open(config.data_dir, fresh=config.fresh)
        with self.store.transaction() as db:
            offset = int(db.meta_get("clock_offset") or 0)
        self.clock = Clock(offset)
        # The admin API's fault knobs drive delivery unless a test hands in its own faults.
        self.webhooks = WebhookWorker(
            self.store, config.retry, faults if faults is not None else FAULT_KNOBS
        )
        self.httpd = _HTTPServer((config.host, config.port), _Handler)
        self.httpd.app = self
        self._stopped = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="billing-ticker", daemon=True)

    @property
    def address(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start_background(self) -> None:
        self.webhooks.start()
        self._ticker.start()

    def serve_forever(self) -> None:
        self.start_background()
        try:
            self.httpd.serve_forever(poll_interval=0.2)
        finally:
            self.close()

    def shutdown(self) -> None:
        """Stop serving (callable from another thread or a signal handler)."""
        threading.Thread(target=self.httpd.shutdown, daemon=True).start()

    def close(self) -> None:
        self._stopped.set()
        self.webhooks.stop()
        self.httpd.server_close()
        self.store.close()

    def run_billing(self) -> None:
        """Renew due subscriptions, end trials, retry failed payments, up to the clock's now."""
        with self.store.transaction() as db:
            # Renewals finalize invoices, whose hosted page and PDF URLs point at this server.
            ctx = Context(db=db, clock=self.clock, account_id=ACCOUNT_ID, base_url=self.address)
            run_due(ctx)
        if ctx.emitted_event_ids:
            self.webhooks.wake()

    def _tick(self) -> None:
        while not self._stopped.wait(self.config.billing_interval):
            try:
                self.run_billing()
            except Exception:
                logger.exception("billing pass failed")

    # --- one request ---------------------------------------------------------------------

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        request_id = new_request_id()
        response_headers = {"Request-Id": request_id}
        try:
            status, payload, extra = self._dispatch(method, raw_path, headers, body, request_id)
            response_headers.update(extra)
        except StripeError as error:
            status, payload = error.status, error.body(request_id)
            response_headers.update(error.headers)
        except Exception:
            logger.exception("unexpected error handling %s %s (%s)", method, raw_path, request_id)
            error = api_error(request_id)
            status, payload = error.status, error.body(request_id)
        if isinstance(payload, bytes):
            return status, response_headers, payload
        return status, response_headers, json.dumps(payload, indent=2).encode()

    def _dispatch(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes, request_id: str
    ) -> tuple[int, Any, dict[str, str]]:
        url = urlsplit(raw_path)
        path = url.path.rstrip("/") or "/"
        if path in NOT_EMULATED.get(method, ()):
            raise StripeError(
                f"The local Stripe server does not emulate {method} {path}; Stripe serves it. "
                "See stripe_server/README.md for what the server emulates.",
                status=404,
            )
        found = ROUTES.match(method, path)
        if found is None:
            raise StripeError(
                f"Unrecognized request URL ({method}: {path}). Please see "
                "https://stripe.com/docs or the local server's README for what it emulates.",
                status=404,
            )
        matched, path_args = found
        api_version = versions.ACCOUNT_DEFAULT
        if not matched.public:
            self._authenticate(headers)
            api_version = versions.resolve(headers.get("stripe-version"))
        try:
            text = url.query
            if body:
                text = f"{text}&{body.decode()}" if text else body.decode()
        except UnicodeDecodeError:
            raise StripeError("The request body is not valid UTF-8.") from None
        decoded = decode_form(text)
        idempotency_key = headers.get("idempotency-key") if method != "GET" else None
        fingerprint = hashlib.sha256(
            json.dumps([method, path, decoded], sort_keys=True).encode()
        ).hexdigest()
        version_header = {} if matched.public else {"Stripe-Version": api_version}
        try:
            with self.store.transaction() as db:
                if idempotency_key:
                    remembered = db.idempotent_response(idempotency_key)
                    if remembered is not None:
                        if remembered[0] != fingerprint:
                            raise idempotency_mismatch(idempotency_key)
                        replay = {
                            "Idempotent-Replayed": "true",
                            "Idempotency-Key": idempotency_key,
                            **version_header,
                        }
                        return remembered[1], remembered[2].encode(), replay
                ctx = Context(
                    db=db,
                    clock=self.clock,
                    account_id=ACCOUNT_ID,
                    params=Params(decoded),
                    path_args=path_args,
                    request_id=request_id,
                    idempotency_key=idempotency_key,
                    base_url=f"http://{headers['host']}" if headers.get("host") else self.address,
                    api_version=api_version,
                )
                result = matched.handler(ctx)
                extra: dict[str, str] = dict(version_header)
                if isinstance(result, RawResponse):
                    # Hosted pages (HTML, redirects) bypass JSON encoding and idempotency.
                    status, payload, extra = result.status, result.body, dict(result.headers)
                else:
                    status, payload = result if isinstance(result, tuple) else (200, result)
                    payload = versions.render(db, payload, api_version)
                if idempotency_key and not isinstance(result, RawResponse):
                    encoded = json.dumps(payload, indent=2)
                    db.remember_response(idempotency_key, fingerprint, status, encoded, ctx.now())
                    extra["Idempotency-Key"] = idempotency_key
                    payload = encoded.encode()
        except StripeError as error:
            error.headers.update(version_header)
            if idempotency_key and _executed(error):
                # Stripe keeps the outcome of a request that ran, failure included: the same
                # key replays it instead of running it again (validation errors are not kept).
                with self.store.transaction() as db:
                    body = json.dumps(error.body(request_id), indent=2)
                    db.remember_response(
                        idempotency_key, fingerprint, error.status, body, self.clock.now()
                    )
            raise
        if ctx.emitted_event_ids:
            self.webhooks.wake()
        return status, payload, extra

    def _authenticate(self, headers: dict[str, str]) -> None:
        authorization = headers.get("authorization", "")
        scheme, _, credentials = authorization.partition(" ")
        key = ""
        if scheme.lower() == "bearer":
            key = credentials.strip()
        elif scheme.lower() == "basic":
            try:
                key = base64.b64decode(credentials).decode().split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                key = ""
        if not key:
            raise authentication_failed(
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY')."
            )
        if not _TEST_KEY.fullmatch(key):
            masked = key[:8] + "*" * max(0, len(key) - 12) + key[-4:]
            raise authentication_failed(
                f"Invalid API Key provided: {masked}. The local Stripe server accepts any "
                "test-mode secret key (sk_test_...)."
            )
        account = headers.get("stripe-account")
        if account and account != ACCOUNT_ID:
            raise StripeError(
                f"The provided key does not have access to account '{account}' (or that "
                f"account does not exist). The local server has one account, {ACCOUNT_ID}.",
                status=403,
                code="account_invalid",
            )


def _executed(error: StripeError) -> bool:
    """Whether a failed request got as far as running (a decline, a server fault)."""
    return error.status == 402 or error.status >= 500


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    app: StripeServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer
    server_version = "LocalStripe/1.0"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm and delayed
        # ACKs add ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._respond("GET")

    def do_POST(self) -> None:
        self._respond("POST")

    def do_DELETE(self) -> None:
        self._respond("DELETE")

    def _respond(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
            error = StripeError("The request body is too large.", status=status)
            self._write(status, {}, json.dumps(error.body()).encode())
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, extra, payload = self.server.app.handle(method, self.path, headers, body)
        extra.setdefault("Stripe-Version", versions.ACCOUNT_DEFAULT)
        self._write(status, extra, payload)

    def _write(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)


def serve(config: ServerConfig) -> None:
    """Run in the foreground until interrupted; the first stdout line gives the address."""
    app = StripeServer(config)
    print(f"listening on {app.address}", flush=True)
    print(f"data in {app.store.path}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: app.shutdown())
    try:
        app.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
