"""`manage.py bootstrap_subscriptions`: sync Stripe's products, prices, coupons and promotion
codes into Portal."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from portal.stripe_client import StripeRequestError, StripeUnavailableError
from pricing.services import active_products_snippet, stripe_catalog_sync


class Command(BaseCommand):
    help = (
        "Sync every product, price, coupon and promotion code from Stripe into the database "
        "(the pricing page reads only the database), then print an ACTIVE_PRODUCTS snippet "
        "for pricing/metadata.py."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = stripe_catalog_sync(progress=self.stdout.write)
        except (StripeRequestError, StripeUnavailableError) as error:
            raise CommandError(f"{error} Check your Stripe keys and STRIPE_API_BASE.") from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Synchronized {len(result.products)} product(s), {len(result.prices)} price(s), "
                f"{len(result.coupons)} coupon(s) and {len(result.promotion_codes)} promotion "
                "code(s)."
            )
        )
        self.stdout.write("\nPaste this into pricing/metadata.py (and edit the words):\n")
        self.stdout.write(active_products_snippet(products=result.products, prices=result.prices))
