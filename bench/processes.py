"""The processes a benchmark starts on 127.0.0.1: Portal under gunicorn, a throwaway Redis, and
a Celery worker. Every one started through `Processes` is stopped when its block ends:

    with Processes() as processes:
        redis = processes.redis_start()
        env = {"CELERY_BROKER_URL": redis.url, ...}
        processes.gunicorn_start(env=env, port=free_port(), workers=2)
        worker = processes.celery_worker_start(env=env)
        ...
        processes.stop(worker)  # one of them early; the rest at the end of the block

`env` is always what to set on top of this process's environment. Redis and the worker write
their output to a temporary directory, removed at the end (gunicorn's warnings come here); a
process that does not start ends the benchmark with the tail of its log.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Everything the benchmarks ask is on 127.0.0.1: never through a proxy the environment names.
LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))
START_TIMEOUT = 60.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Redis:
    """A running throwaway `redis-server`: its URL (database 0) and version."""

    url: str
    version: str
    process: subprocess.Popen[bytes]


class Processes:
    """Starts the benchmark's processes and stops them all, last started first, on exit."""

    def __init__(self) -> None:
        self._started: list[subprocess.Popen[bytes]] = []
        self._logs = Path(tempfile.mkdtemp(prefix="portal-bench-"))

    def __enter__(self) -> Processes:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for process in reversed(self._started):
            self.stop(process)
        shutil.rmtree(self._logs, ignore_errors=True)

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        """Stop one process now (SIGTERM, then SIGKILL after 20 s); nothing if it has ended."""
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def gunicorn_start(
        self,
        *,
        env: dict[str, str],
        port: int,
        workers: int,
        threads: int = 4,
        ready_path: str = "/stripe/webhook/",
    ) -> subprocess.Popen[bytes]:
        """Portal (`portal.wsgi`) under gunicorn on 127.0.0.1:`port`, once a GET of
        `ready_path` is answered (any status). Its warnings and errors go to this terminal."""
        process = self._popen(
            [
                str(BIN / "gunicorn"),
                "portal.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--log-level",
                "warning",
            ],
            env=env,
        )
        self._wait_for(
            lambda: _answers_http(f"http://127.0.0.1:{port}{ready_path}"),
            process=process,
            what="gunicorn",
        )
        return process

    def redis_start(self) -> Redis:
        """A `redis-server` on a free 127.0.0.1 port that keeps nothing on disk, once it
        answers PING."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit(
                "redis-server is not installed, and the benchmark needs it as Celery's broker: "
                "install Debian's redis-server (`make redis`, or `sudo apt-get install "
                "redis-server`)."
            )
        # "Redis server v=7.0.15 sha=..."
        banner = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, check=True
        ).stdout
        version = next(
            (part[2:] for part in banner.split() if part.startswith("v=")), banner.strip()
        )
        port = free_port()
        log = self._logs / "redis.log"
        process = self._popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
             "no", "--daemonize", "no", "--dir", str(self._logs), "--logfile", str(log)],
        )  # fmt: skip
        self._wait_for(lambda: _answers_ping(port), process=process, what="redis-server", log=log)
        return Redis(url=f"redis://127.0.0.1:{port}/0", version=version, process=process)

    def celery_worker_start(
        self, *, env: dict[str, str], concurrency: int = 2
    ) -> subprocess.Popen[bytes]:
        """`celery -A portal worker` (prefork, `concurrency` processes) on the broker that
        `env` names, once it says it is ready to take tasks."""
        log = self._logs / f"celery-worker-{len(self._started)}.log"
        # INFO, as `make worker` runs it; it also logs the line that says the worker is ready.
        with log.open("wb") as output:
            process = self._popen(
                [str(BIN / "celery"), "-A", "portal", "worker", "--concurrency", str(concurrency),
                 "--loglevel", "INFO"],
                env=env,
                output=output,
            )  # fmt: skip
        self._wait_for(
            lambda: " ready." in log.read_text(errors="replace"),
            process=process,
            what="the Celery worker",
            log=log,
        )
        return process

    def _popen(
        self,
        command: list[str],
        *,
        env: dict[str, str] | None = None,
        output: IO[bytes] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start `command` in the project's directory; with `output`, its stdout and stderr go
        there instead of this terminal."""
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=output,
            stderr=subprocess.STDOUT if output is not None else None,
        )
        self._started.append(process)
        return process

    def _wait_for(
        self,
        condition: Callable[[], bool],
        *,
        process: subprocess.Popen[bytes],
        what: str,
        log: Path | None = None,
    ) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not condition():
            if process.poll() is not None or time.monotonic() > deadline:
                happened = (
                    f"exited with status {process.returncode}"
                    if process.poll() is not None
                    else f"did not start within {START_TIMEOUT:.0f} s"
                )
                tail = ""
                if log is not None and log.exists():
                    tail = "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:])
                raise SystemExit(f"{what} {happened}.{tail}")
            time.sleep(0.1)


def _answers_http(url: str) -> bool:
    try:
        LOCAL.open(url, timeout=2).close()
    except urllib.error.HTTPError:
        return True  # any status: the server is up
    except OSError:
        return False
    return True


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False
