"""`manage.py billing_snapshot`: take today's billing snapshot (MRR, movements, trials), or
rebuild the past days' from the stored webhook events and dj-stripe's rows (`--backfill`)."""

from __future__ import annotations

from argparse import ArgumentTypeError
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.metrics.services import (
    SnapshotOrderError,
    billing_snapshot_take,
    billing_snapshots_backfill,
)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ArgumentTypeError(f"a date such as 2026-01-31, not {value!r}") from None


class Command(BaseCommand):
    help = (
        "Take today's billing snapshot from dj-stripe's rows (replacing today's if taken): MRR "
        "per currency and plan, its movements since the snapshot before, trials. With "
        "--backfill, first rebuild every day from --since (default: the first subscription's "
        "start) to yesterday from the stored webhook events and dj-stripe's rows, replacing "
        "those days' snapshots. Never calls Stripe."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--backfill",
            action="store_true",
            help="rebuild the past days' snapshots from stored webhook events and rows",
        )
        parser.add_argument(
            "--since",
            type=_day,
            default=None,
            help="with --backfill: the first day to rebuild (YYYY-MM-DD)",
        )

    def handle(self, *args: Any, backfill: bool, since: date | None, **options: Any) -> None:
        if since is not None and not backfill:
            raise CommandError("--since goes with --backfill.")
        if since is not None and since > timezone.localdate():
            raise CommandError(f"--since {since} is in the future.")
        try:
            if backfill:
                report = billing_snapshots_backfill(since=since, progress=self.stdout.write)
                self.stdout.write(
                    f"Done: {report.days} days of snapshots from {report.first}, "
                    f"{report.subscriptions} subscriptions."
                )
            else:
                taken = billing_snapshot_take(progress=self.stdout.write)
                self.stdout.write(f"Done: snapshot of {taken.date}.")
        except SnapshotOrderError as error:
            raise CommandError(
                f"{error} Rebuild from an earlier day with --backfill --since YYYY-MM-DD."
            ) from error
