"""The benchmarks' load: requests sent from a few keep-alive connections on 127.0.0.1."""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None = None


@dataclass(frozen=True)
class Answer:
    status: int
    seconds: float
    body: bytes


def send_all(*, port: int, requests: list[Request], concurrency: int) -> tuple[list[Answer], float]:
    """Send every request, in order, from `concurrency` keep-alive connections (a new one when
    the server closes one); the answers (in the order they came) and the seconds it all took."""
    lock = threading.Lock()
    queue = list(reversed(requests))
    answers: list[Answer] = []

    def sender() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    request = queue.pop()
                started = time.perf_counter()
                connection.request(
                    request.method, request.path, body=request.body, headers=request.headers
                )
                response = connection.getresponse()
                body = response.read()
                answer = Answer(response.status, time.perf_counter() - started, body)
                with lock:
                    answers.append(answer)
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()  # reopened by the next request
        finally:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=sender) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers, time.perf_counter() - started
