"""`manage.py sync_subscriptions`: push the seat count of every changed holder to Stripe."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.billing.seat_sync import SyncOutcome, subscriptions_sync

PRORATION_BEHAVIORS = ("create_prorations", "always_invoice", "none")


class Command(BaseCommand):
    help = (
        "Push the quantity (get_quantity(): a team's member count) of every subscription holder "
        "changed since its last sync to its per-seat Stripe subscription. Unchanged holders cost "
        "no Stripe call; holders over PORTAL_SEAT_SYNC_MAX_UPDATES_PER_HOUR stay pending. "
        "Exits non-zero when an update failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--proration-behavior",
            choices=PRORATION_BEHAVIORS,
            default=None,
            help="how Stripe bills the change (default: PORTAL_SEAT_SYNC_PRORATION_BEHAVIOR)",
        )

    def handle(self, *args: Any, proration_behavior: str | None, **options: Any) -> None:
        report = subscriptions_sync(
            proration_behavior=proration_behavior, progress=self.stdout.write
        )
        summary = ", ".join(
            f"{report.count(outcome)} {label}"
            for outcome, label in (
                (SyncOutcome.UPDATED, "updated"),
                (SyncOutcome.IN_SYNC, "already in sync"),
                (SyncOutcome.NOT_BILLED_PER_SEAT, "not billed per seat"),
                (SyncOutcome.DEFERRED, "deferred (hourly limit)"),
                (SyncOutcome.BUSY, "synced by another run"),
                (SyncOutcome.FAILED, "failed"),
            )
        )
        self.stdout.write(f"Done: {report.checked} checked: {summary}.")
        if report.errors:
            raise CommandError(
                f"{len(report.errors)} holders could not be synced and stay pending; run the "
                "command again once Stripe answers. " + "; ".join(report.errors)
            )
