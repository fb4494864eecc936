"""`manage.py runlocal`: what `make run` starts, the whole product on one machine.

With no Stripe keys it starts the local Stripe server (or reuses one already listening), seeds
the demo products, syncs them into dj-stripe, registers `/stripe/webhook/` with it, and then
serves Portal with `runserver`, as the demo (`DEMO_ENVIRONMENT`). With keys set it only serves:
nothing is created in a real Stripe, and Portal's own defaults stand.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sites.models import Site
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from accounts.webhooks.services.endpoints import webhook_endpoint_ensure

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# The demo's settings, over Portal's defaults (a variable set in the environment wins): teams
# hold the subscriptions, so the per-seat plans, the team pages and the seat counts pushed to
# Stripe tell one story. `PORTAL_SUBSCRIPTION_HOLDER=user make run` shows users holding them.
DEMO_ENVIRONMENT = {"PORTAL_SUBSCRIPTION_HOLDER": "team"}


def local_stripe_answers(api_base: str) -> bool:
    try:
        with _NO_PROXY.open(f"{api_base}/_local/health", timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


class Command(BaseCommand):
    help = "Serve Portal locally; with no Stripe keys, with the local Stripe server and demo plans."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--stripe-data-dir",
            default=".local_stripe",
            help="where the local Stripe server keeps its state (default %(default)s)",
        )

    def handle(self, *args: Any, addrport: str, stripe_data_dir: str, **options: Any) -> None:
        site = Site.objects.get_current()
        if site.domain != addrport:
            site.domain, site.name = addrport, "Portal"
            site.save()
        environment = dict(os.environ)
        if settings.STRIPE_USES_LOCAL_SERVER:
            self.start_local_stripe(Path(stripe_data_dir))
            self.stdout.write("Seeding the demo products and syncing them into dj-stripe...")
            call_command("bootstrap_demo_products", stdout=self.stdout)
            call_command("bootstrap_subscriptions", stdout=self.stdout)
            # A new endpoint on each start: Stripe reveals a secret only when it creates one.
            _, secret, _ = webhook_endpoint_ensure(
                url=f"http://{addrport}/stripe/webhook/", replace=True
            )
            environment["DJSTRIPE_WEBHOOK_SECRET"] = secret or ""
            self.stdout.write("Webhooks from the local Stripe server go to /stripe/webhook/.")
            for name, value in DEMO_ENVIRONMENT.items():
                environment.setdefault(name, value)
            self.stdout.write(
                f"Demo: subscriptions are held by teams "
                f"(PORTAL_SUBSCRIPTION_HOLDER={environment['PORTAL_SUBSCRIPTION_HOLDER']}); "
                "a team pays one seat per member, and a change of members reaches Stripe "
                "within seconds."
            )
        self.stdout.write(self.style.SUCCESS(f"Portal: http://{addrport}/"))
        # Replace this process with runserver, so its autoreloader restarts only the web server.
        os.execve(  # noqa: S606 - re-runs this project's own manage.py
            sys.executable,
            [sys.executable, "manage.py", "runserver", addrport],
            environment,
        )

    def start_local_stripe(self, data_dir: Path) -> None:
        api_base = settings.STRIPE_API_BASE
        if local_stripe_answers(api_base):
            self.stdout.write(f"Using the local Stripe server already at {api_base}.")
            return
        address = urlsplit(api_base)
        data_dir.mkdir(parents=True, exist_ok=True)
        log = (data_dir / "server.log").open("a")
        # Same process group: Ctrl-C in the terminal stops the server with runserver.
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stripe_server",
                "--host",
                address.hostname or "127.0.0.1",
                "--port",
                str(address.port or 12111),
                "--data-dir",
                str(data_dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        deadline = time.monotonic() + 15
        while not local_stripe_answers(api_base):
            if time.monotonic() > deadline:
                raise CommandError(
                    f"The local Stripe server did not start at {api_base}; "
                    f"see {data_dir}/server.log."
                )
            time.sleep(0.1)
        self.stdout.write(f"Started the local Stripe server at {api_base} (state in {data_dir}/).")
