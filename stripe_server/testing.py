"""Start a throwaway local Stripe server for tests (any test runner, no pytest needed).

    with running_server() as stripe_local:
        client = stripe.StripeClient(
            stripe_local.api_key, base_addresses={"api": stripe_local.api_base}
        )

The server runs as a subprocess (`python -m stripe_server --port 0`), so it behaves exactly as
`make stripe` does, and is stopped (and its temporary data removed) on exit.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_PACKAGE_PARENT = Path(__file__).resolve().parent.parent
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def new_test_key() -> str:
    """A test-mode secret key that passes dj-stripe's `^sk_test_[a-zA-Z0-9]{24,}$` check."""
    alphabet = string.ascii_letters + string.digits
    return "sk_test_" + "".join(secrets.choice(alphabet) for _ in range(32))


@dataclass
class LocalStripe:
    """A running local Stripe server: where it listens, a key it accepts, its data."""

    api_base: str
    api_key: str
    data_dir: Path
    process: subprocess.Popen[str]

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    def admin(self, method: str, path: str, **params: Any) -> dict[str, Any]:
        """Call a `/_local/...` admin endpoint (clock, billing pass, deliveries)."""
        body = "&".join(f"{key}={value}" for key, value in params.items()).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback URL built above
            f"{self.api_base}{path}", data=body if method != "GET" else None, method=method
        )
        with _NO_PROXY.open(request, timeout=10) as response:
            return json.loads(response.read())

    def advance_clock(self, seconds: int) -> int:
        """Move the server's clock forward and run the billing that became due; new now."""
        return int(self.admin("POST", "/_local/clock/advance", seconds=seconds)["now"])

    def set_delivery_faults(self, **knobs: Any) -> dict[str, Any]:
        """Set webhook delivery fault knobs (`duplicate`, `drop`, `delay`, `shuffle`, `paused`,
        `seed`; see `stripe_server.faults`); knobs not named keep their values."""
        return self.admin("POST", "/_local/webhooks/faults", **knobs)

    def reset_delivery_faults(self) -> dict[str, Any]:
        """Back to faithful webhook delivery (and resume it if paused)."""
        return self.admin("POST", "/_local/webhooks/faults/reset")


def _read_first_line(process: subprocess.Popen[str], timeout: float) -> str:
    result: list[str] = []
    reader = threading.Thread(
        target=lambda: result.append(process.stdout.readline() if process.stdout else ""),
        daemon=True,
    )
    reader.start()
    reader.join(timeout)
    if not result or not result[0]:
        raise RuntimeError("the local Stripe server did not start (no 'listening on' line)")
    return result[0].strip()


def _wait_until_healthy(api_base: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with _NO_PROXY.open(f"{api_base}/_local/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


@contextmanager
def running_server(
    port: int = 0,
    data_dir: Path | str | None = None,
    *,
    fresh: bool = False,
    extra_args: list[str] | None = None,
    startup_timeout: float = 15.0,
) -> Iterator[LocalStripe]:
    """Run `python -m stripe_server` on 127.0.0.1 until the block exits.

    `data_dir=None` uses a temporary directory, removed afterwards; `extra_args` passes
    options such as `["--webhook-retry-delay", "0.2"]`.
    """
    temporary = data_dir is None
    directory = Path(tempfile.mkdtemp(prefix="local-stripe-")) if temporary else Path(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "stripe_server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(directory),
        *(["--fresh"] if fresh else []),
        *(extra_args or []),
    ]
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(_PACKAGE_PARENT), os.environ.get("PYTHONPATH", "")]
        ).rstrip(os.pathsep),
    }
    log = (directory / "server.log").open("a")
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=environment,
        cwd=_PACKAGE_PARENT,
    )
    try:
        first_line = _read_first_line(process, startup_timeout)
        prefix = "listening on "
        if not first_line.startswith(prefix):
            raise RuntimeError(f"unexpected first line from the local Stripe server: {first_line}")
        api_base = first_line[len(prefix) :]
        _wait_until_healthy(api_base, startup_timeout)
        yield LocalStripe(
            api_base=api_base, api_key=new_test_key(), data_dir=directory, process=process
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
        log.close()
        if temporary:
            shutil.rmtree(directory, ignore_errors=True)
