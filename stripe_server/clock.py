"""The server's notion of "now", which can be moved forward to bring renewals closer.

Billing never reads the wall clock directly: it asks a `Clock`, so an offset (and, later,
per-customer test clocks) can advance time without waiting a month for a renewal.
"""

from __future__ import annotations

import threading
import time


class Clock:
    """Wall-clock seconds plus an offset that only moves forward."""

    def __init__(self, offset_seconds: int = 0) -> None:
        self._offset = offset_seconds
        self._lock = threading.Lock()

    @property
    def offset(self) -> int:
        return self._offset

    def now(self) -> int:
        return int(time.time()) + self._offset

    def advance(self, seconds: int) -> int:
        """Move time forward by `seconds` and return the new now."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()
