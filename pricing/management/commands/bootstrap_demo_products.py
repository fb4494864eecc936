"""`manage.py bootstrap_demo_products`: the demo plans, in whichever Stripe is configured."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from portal.stripe_client import StripeRequestError, StripeUnavailableError
from pricing.services import demo_products_bootstrap


class Command(BaseCommand):
    help = (
        "Create the demo products (Basic, Starter, Pro, a graduated per-seat plan and seat "
        "packs) with monthly and yearly prices, and a demo coupon (20% off for 3 months) with "
        "the promotion code LAUNCH20, in the configured Stripe. Idempotent: products and the "
        "coupon are found by id, prices by lookup key, the code by its code. Then run "
        "bootstrap_subscriptions."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            items = demo_products_bootstrap(progress=self.stdout.write)
        except (StripeRequestError, StripeUnavailableError) as error:
            raise CommandError(str(error)) from error
        created = sum(item.created for item in items)
        found = len(items) - created
        self.stdout.write(
            self.style.SUCCESS(f"Demo products ready: {created} created, {found} already there.")
        )
        self.stdout.write("Next: manage.py bootstrap_subscriptions, to sync them into Portal.")
