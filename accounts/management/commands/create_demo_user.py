from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.auth.services import email_address_verified_record
from accounts.models import User
from accounts.teams.services import team_create

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "portal-demo"  # noqa: S105 - a local demo account, refused when DEBUG is off
DEMO_TEAM = "Demo team"


class Command(BaseCommand):
    help = (
        "Create the local demo user (an admin) and its team if they do not exist, and print "
        "the login."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("The demo user has a public password: create it only with DEBUG on.")
        user, created = User.objects.get_or_create(
            email=DEMO_EMAIL, defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        # Its address is ours: verified, so the demo can subscribe without a mail round trip.
        email_address_verified_record(user=user)
        # The team it subscribes for and invites people to (`make run` has teams hold plans).
        if not user.teams.exists():
            team = team_create(name=DEMO_TEAM, creator=user)
            self.stdout.write(f"Created the team {team.name}, with the demo user as its admin.")
        verb = "Created" if created else "Demo user exists:"
        self.stdout.write(
            self.style.SUCCESS(f"{verb} log in as {DEMO_EMAIL} / {DEMO_PASSWORD} (also /admin/)")
        )
