"""`manage.py webhook_endpoint_ensure --url URL`: register Portal's endpoint with Stripe."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.webhooks.services.endpoints import webhook_endpoint_ensure
from portal.stripe_client import StripeRequestError, StripeUnavailableError


class Command(BaseCommand):
    help = (
        "Make sure the configured Stripe (or the local Stripe server) sends every event to URL. "
        "Prints the endpoint's signing secret when it creates one (--replace always does): "
        "set it as DJSTRIPE_WEBHOOK_SECRET. With --secret-only, prints only the secret."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url", required=True, help="e.g. http://127.0.0.1:8000/stripe/webhook/"
        )
        parser.add_argument(
            "--replace", action="store_true", help="delete endpoints at URL and create a new one"
        )
        parser.add_argument(
            "--secret-only", action="store_true", help="print just the secret (for scripts)"
        )

    def handle(self, *args: Any, url: str, replace: bool, secret_only: bool, **options: Any):
        try:
            endpoint_id, secret, created = webhook_endpoint_ensure(url=url, replace=replace)
        except (StripeRequestError, StripeUnavailableError) as error:
            raise CommandError(f"{error} Check STRIPE_API_BASE and the Stripe keys.") from error
        if secret_only:
            if secret is None:
                raise CommandError(
                    f"Endpoint {endpoint_id} already exists and Stripe shows its secret only "
                    "once: run again with --replace for a new one."
                )
            self.stdout.write(secret)
            return
        if created:
            self.stdout.write(f"Created webhook endpoint {endpoint_id} for {url}")
            self.stdout.write(f"DJSTRIPE_WEBHOOK_SECRET={secret}")
        else:
            self.stdout.write(
                f"Webhook endpoint {endpoint_id} already sends to {url}; its secret is in "
                "Stripe's Dashboard (or use --replace for a new one)."
            )
