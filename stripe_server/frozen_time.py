"""Test clocks' time: the clock a test clock's customer and its objects live on.

A customer created with `test_clock=` is created, billed and changed at that clock's frozen
time, whichever resource touches it, so every such resource reads its time through
`clock_context`; the test clock endpoints themselves are `resources/test_clocks.py`.
"""

from __future__ import annotations

import dataclasses

from stripe_server.clock import Clock
from stripe_server.context import Context

KIND = "test_helpers.test_clock"


class FrozenClock(Clock):
    """A clock that reads a test clock's frozen time and does not move by itself."""

    def __init__(self, frozen_time: int) -> None:
        super().__init__(0)
        self._frozen_time = frozen_time

    def now(self) -> int:
        return self._frozen_time

    def advance(self, seconds: int) -> int:
        raise ValueError("a test clock moves only through its advance endpoint")


def clock_context(ctx: Context, test_clock_id: str | None) -> Context:
    """`ctx`, reading the time of the test clock `test_clock_id` when there is one."""
    if not test_clock_id:
        return ctx
    test_clock = ctx.db.get(test_clock_id, KIND)
    if test_clock is None:
        return ctx
    return dataclasses.replace(ctx, clock=FrozenClock(test_clock["frozen_time"]))


def test_clock_param(ctx: Context, test_clock_id: str | None) -> str | None:
    """The id of an existing test clock named by a `test_clock` parameter (400 if unknown)."""
    if not test_clock_id:
        return None
    ctx.require(KIND, test_clock_id, param="test_clock", status=400)
    return test_clock_id
