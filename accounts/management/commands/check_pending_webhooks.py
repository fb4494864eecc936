"""`manage.py check_pending_webhooks`: process the Stripe events webhooks did not bring."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.webhooks.services.reconciling import webhook_events_reconcile
from portal.stripe_client import StripeRequestError, StripeUnavailableError


def parse_moment(value: str) -> datetime:
    """An ISO 8601 date or time (UTC unless it says otherwise), or a Unix timestamp."""
    if value.isdigit():
        return datetime.fromtimestamp(int(value), tz=UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"{value!r} is not a time: use ISO 8601 (2025-01-31 or 2025-01-31T12:00) "
            "or a Unix timestamp."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Ask Stripe for events not delivered (delivery_success=false) or newer than the last "
        "one processed, and process those missing here. Exits non-zero, and mails the admins, "
        "when more than STRIPE_PENDING_WEBHOOKS_THRESHOLD were pending."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since",
            type=parse_moment,
            help="only events Stripe created since then (ISO 8601 or Unix time)",
        )
        parser.add_argument(
            "--until",
            type=parse_moment,
            help="only events Stripe created until then (ISO 8601 or Unix time)",
        )
        parser.add_argument(
            "--threshold",
            type=int,
            default=None,
            help="pending events tolerated before failing (default: "
            "STRIPE_PENDING_WEBHOOKS_THRESHOLD)",
        )

    def handle(
        self,
        *args: Any,
        since: datetime | None,
        until: datetime | None,
        threshold: int | None,
        **options: Any,
    ):
        try:
            report = webhook_events_reconcile(
                since=since, until=until, threshold=threshold, progress=self.stdout.write
            )
        except (StripeUnavailableError, StripeRequestError) as error:
            raise CommandError(f"{error} Check STRIPE_API_BASE and the Stripe keys.") from error
        summary = (
            f"{report.pending_count} pending, {report.processed} processed, "
            f"{len(report.failed)} failed, {report.retried_local} stored events retried"
        )
        if report.failed:
            self.stdout.write(
                self.style.WARNING(
                    "Failed (see the admin's webhook events): " + ", ".join(report.failed[:20])
                )
            )
        if report.too_many_pending:
            raise CommandError(
                f"{summary}. More than {report.threshold} events were pending: webhooks are not "
                "arriving; the admins have been mailed. Check the endpoint in Stripe."
            )
        self.stdout.write(self.style.SUCCESS(summary))
