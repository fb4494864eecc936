"""Subscription and invoice lifecycle (filled in below)."""

from __future__ import annotations

from stripe_server.context import Context


def run_due(ctx: Context) -> None:
    return None
