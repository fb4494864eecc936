"""`manage.py usage_flush`: send the usage recorded so far to Stripe's meters, now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.usage.services import usage_flush


class Command(BaseCommand):
    help = (
        "Send the usage recorded with usage_record() and not yet sent to Stripe's meters, in "
        "batches per holder, meter and minute (each counted once by Stripe, however often it "
        "is sent). Reports usage kept back because the holder's subscription does not bill that "
        "meter. Exits non-zero when Stripe could not be reached or refused a batch."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = usage_flush(progress=self.stdout.write)
        for (customer_id, meter), (records, value) in sorted(report.held.items()):
            self.stdout.write(
                f"Kept, not sent: {value.normalize():f} {meter} ({records} record(s)) of "
                f"{customer_id}: its subscription has no metered price on that meter."
            )
        self.stdout.write(
            f"Done: {report.sent} batch(es) sent, {report.already_counted} already counted, "
            f"{report.failed} failed, {report.waiting} waiting."
        )
        if report.waiting:
            raise CommandError(
                f"Stripe could not be reached: {report.waiting} batch(es) wait. Run the command "
                "again once Stripe answers; nothing is lost or counted twice."
            )
        if report.failed:
            raise CommandError(
                f"Stripe refused {report.failed} batch(es) for good; see the usage batches in the "
                "admin for its reasons."
            )
