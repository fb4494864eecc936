"""Give every user who existed before allauth a verified primary email address: their
address is the one they have been logging in with, so they keep working as they did."""

from __future__ import annotations

from django.db import migrations


def email_addresses_verified(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    EmailAddress = apps.get_model("account", "EmailAddress")
    for user in User.objects.exclude(email="").only("pk", "email").iterator():
        email = user.email.strip().lower()
        EmailAddress.objects.filter(user_id=user.pk, primary=True).exclude(
            email__iexact=email
        ).update(primary=False)
        address = EmailAddress.objects.filter(user_id=user.pk, email__iexact=email).first()
        if address is None:
            EmailAddress.objects.create(user_id=user.pk, email=email, verified=True, primary=True)
        elif not (address.verified and address.primary):
            address.verified = True
            address.primary = True
            address.save(update_fields=["verified", "primary"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_teams"),
        ("account", "0009_emailaddress_unique_primary_email"),
    ]

    operations = [
        migrations.RunPython(email_addresses_verified, migrations.RunPython.noop, elidable=True),
    ]
