"""`manage.py replay_webhook_events`: process Stripe events again, even processed ones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.management.commands.check_pending_webhooks import parse_moment
from accounts.webhooks.services.processing import webhook_events_due_process
from accounts.webhooks.services.reconciling import webhook_events_replay
from portal.stripe_client import StripeRequestError, StripeUnavailableError


class Command(BaseCommand):
    help = (
        "Process Stripe events again: --ids evt_... (stored here or fetched from Stripe), "
        "--since TIME (every event Stripe created since then), or --due (stored events "
        "never processed, failed and due, or stuck)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ids", nargs="+", metavar="EVENT_ID", help="Stripe event ids")
        parser.add_argument("--since", type=parse_moment, help="ISO 8601 time or Unix timestamp")
        parser.add_argument(
            "--until", type=parse_moment, help="with --since: events created until then"
        )
        parser.add_argument(
            "--due", action="store_true", help="the stored events that are due for processing"
        )

    def handle(
        self,
        *args: Any,
        ids: list[str] | None,
        since: datetime | None,
        until: datetime | None,
        due: bool,
        **options: Any,
    ) -> None:
        if not ids and since is None and not due:
            raise CommandError("Say what to replay: --ids evt_..., --since TIME, or --due.")
        for event_id in ids or []:
            if not event_id.startswith("evt_"):
                raise CommandError(f"{event_id!r} is not a Stripe event id (evt_...).")
        failed = 0
        if due:
            failed += webhook_events_due_process(progress=self.stdout.write)["failed"]
        if ids or since is not None:
            try:
                counts = webhook_events_replay(
                    since=since, until=until, ids=ids, progress=self.stdout.write
                )
            except StripeRequestError as error:
                raise CommandError(f"Stripe refused: {error}") from error
            except StripeUnavailableError as error:
                raise CommandError(f"{error} Check STRIPE_API_BASE and the keys.") from error
            failed += counts["failed"]
            self.stdout.write(
                f"{counts['processed']} processed, {counts['failed']} failed, "
                f"{counts['skipped']} skipped"
            )
        if failed:
            raise CommandError(
                f"{failed} events failed; their errors are in the admin's webhook events."
            )
        self.stdout.write(self.style.SUCCESS("Done."))
