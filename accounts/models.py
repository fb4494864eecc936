from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone

# Django looks for an app's models in its `models` module: the webhook events, the usage
# records and the billing snapshots live with the rest of their rooms, and are handed on from
# here.
from accounts.metrics.models import BillingSnapshot as BillingSnapshot
from accounts.metrics.models import MrrSnapshot as MrrSnapshot
from accounts.metrics.models import SubscriptionMrr as SubscriptionMrr
from accounts.usage.models import UsageBatch as UsageBatch
from accounts.usage.models import UsageRecord as UsageRecord
from accounts.webhooks.models import WebhookEvent as WebhookEvent


class UserManager(BaseUserManager["User"]):
    """Users log in with their email address; there is no username."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        # Imported here: the service uses allauth's models, which load after this module.
        from accounts.auth.services import email_address_verified_record

        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        email_address_verified_record(user=user)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields: Any) -> User:
        """A user created in code (the shell, a command, `createsuperuser`, a test), whose
        address is recorded as verified: whoever runs the code vouches for it. People who sign
        up themselves go through allauth, which verifies the address by mail."""
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(
        self, email: str, password: str | None = None, **extra_fields: Any
    ) -> User:
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if not extra_fields["is_staff"] or not extra_fields["is_superuser"]:
            raise ValueError("A superuser must have is_staff and is_superuser set.")
        return self._create_user(email, password, **extra_fields)


class SubscriptionHolder(models.Model):
    """What a model needs to hold a Stripe subscription: mix it into a user or a team model.

    `get_quantity()` is the number of seats billed (1 for a user; a team's member count).
    Whenever what it counts changes, stamp `billing_details_last_changed`; `sync_subscriptions`
    pushes the new quantity to Stripe for holders changed since `last_synced_with_stripe`.
    """

    customer = models.ForeignKey(
        "djstripe.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The holder's Stripe customer.",
    )
    subscription = models.ForeignKey(
        "djstripe.Subscription",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The holder's current (or latest) Stripe subscription.",
    )
    billing_details_last_changed = models.DateTimeField(
        default=timezone.now, help_text="When what the holder is billed for last changed."
    )
    last_synced_with_stripe = models.DateTimeField(
        null=True, blank=True, help_text="When the holder's quantity was last pushed to Stripe."
    )

    class Meta:
        abstract = True

    def get_quantity(self) -> int:
        return 1

    @property
    def billing_email(self) -> str:
        raise NotImplementedError

    @property
    def billing_name(self) -> str:
        raise NotImplementedError

    @property
    def billing_contacts(self) -> list[str]:
        """Everyone mail about the holder's billing goes to (a trial ending, say)."""
        return [self.billing_email] if self.billing_email else []


class User(SubscriptionHolder, AbstractUser):
    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = UserManager()  # type: ignore[misc]

    class Meta:
        verbose_name = "user"
        verbose_name_plural = "users"

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email

    @property
    def billing_email(self) -> str:
        return self.email

    @property
    def billing_name(self) -> str:
        return self.get_full_name()


# --- Teams --------------------------------------------------------------------------------------


class Team(SubscriptionHolder):
    """A group of users that can hold one subscription, billed per member (one seat each).

    Written only by `accounts.teams.services`: adding or removing a member stamps
    `billing_details_last_changed` there, so `sync_subscriptions` pushes the new seat count.
    """

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60, unique=True)
    members = models.ManyToManyField(
        "accounts.User", through="accounts.Membership", related_name="teams"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "team"
        verbose_name_plural = "teams"
        ordering = ("name", "pk")

    def __str__(self) -> str:
        return self.name

    def get_quantity(self) -> int:
        """One seat per member."""
        return self.memberships.count()

    @property
    def billing_email(self) -> str:
        """The email of the team's first admin, who receives Stripe's receipts."""
        admin = (
            self.memberships.filter(role=Membership.Role.ADMIN)
            .select_related("user")
            .order_by("created_at", "pk")
            .first()
        )
        return admin.user.email if admin is not None else ""

    @property
    def billing_name(self) -> str:
        return self.name

    @property
    def billing_contacts(self) -> list[str]:
        """The emails of the team's admins, who manage its billing."""
        return list(
            self.memberships.filter(role=Membership.Role.ADMIN)
            .order_by("created_at", "pk")
            .values_list("user__email", flat=True)
        )


class Membership(models.Model):
    """A user's place in a team, with their role: admins manage members and billing."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "membership"
        verbose_name_plural = "memberships"
        ordering = ("created_at", "pk")
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_unique_team_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class Invitation(models.Model):
    """An invitation by email to join a team; its token is random, single-use and expires."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Membership.Role.choices, default="member")
    token = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    canceled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "invitation"
        verbose_name_plural = "invitations"
        ordering = ("-created_at", "-pk")

    def __str__(self) -> str:
        return f"{self.email} to {self.team}"

    @property
    def is_pending(self) -> bool:
        """Neither accepted, canceled nor expired."""
        return (
            self.accepted_at is None
            and self.canceled_at is None
            and self.expires_at > timezone.now()
        )


class SubscriptionQuantityUpdate(models.Model):
    """One quantity change `sync_subscriptions` pushed to Stripe: the history that keeps each
    subscription under Stripe's limit of quantity updates an hour."""

    holder_reference = models.CharField(max_length=64, db_index=True)
    subscription_id = models.CharField(max_length=255, db_index=True)
    quantity_before = models.PositiveIntegerField()
    quantity = models.PositiveIntegerField()
    proration_behavior = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "subscription quantity update"
        verbose_name_plural = "subscription quantity updates"
        ordering = ("-created_at", "-pk")

    def __str__(self) -> str:
        return f"{self.subscription_id}: {self.quantity_before} → {self.quantity}"
