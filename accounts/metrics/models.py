"""The daily billing snapshots: a day's figures (per currency), and each subscription's MRR
from one snapshot to the next, so the dashboard's history and movements never ask Stripe.

Written only by `accounts.metrics.services`; Django finds them through `accounts/models.py`.
"""

from __future__ import annotations

from django.db import models

from accounts.billing.movement_kinds import MovementKind


class BillingSnapshot(models.Model):
    """A day's billing figures, as of `taken_at` (the day's last snapshot stands)."""

    class Source(models.TextChoices):
        DAILY = "daily", "Daily"
        BACKFILL = "backfill", "Backfill"

    date = models.DateField(unique=True)
    taken_at = models.DateTimeField(help_text="The moment the figures are as of.")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.DAILY)
    # The first snapshot there is: its subscriptions are its opening MRR, not movements.
    opening = models.BooleanField(default=False)
    trials_running = models.PositiveIntegerField(default=0)
    trials_ended = models.PositiveIntegerField(
        default=0, help_text="Trials that ended in the 90 days before."
    )
    trials_converted = models.PositiveIntegerField(
        default=0, help_text="Of those, the ones whose subscription went on after the trial."
    )

    class Meta:
        verbose_name = "billing snapshot"
        verbose_name_plural = "billing snapshots"
        ordering = ("-date",)

    def __str__(self) -> str:
        return f"Billing snapshot of {self.date}"


class MrrSnapshot(models.Model):
    """A snapshot's MRR in one currency, and how it moved since the snapshot before."""

    snapshot = models.ForeignKey(
        BillingSnapshot, on_delete=models.CASCADE, related_name="currencies"
    )
    currency = models.CharField(max_length=3)
    mrr = models.BigIntegerField(help_text="In the currency's minor unit (cents).")
    subscribers = models.PositiveIntegerField(help_text="Subscriptions with an MRR above zero.")
    new = models.BigIntegerField(default=0)
    expansion = models.BigIntegerField(default=0)
    contraction = models.BigIntegerField(default=0)
    churn = models.BigIntegerField(default=0)
    by_plan = models.JSONField(
        default=dict, help_text="MRR per plan: the plan's Stripe product id to minor units."
    )

    class Meta:
        verbose_name = "MRR snapshot"
        verbose_name_plural = "MRR snapshots"
        constraints = [
            models.UniqueConstraint(
                fields=["snapshot", "currency"], name="mrr_snapshot_unique_currency"
            )
        ]

    def __str__(self) -> str:
        return f"MRR of {self.snapshot.date} in {self.currency.upper()}"


class SubscriptionMrr(models.Model):
    """A subscription's MRR from a snapshot on: written only when it changes (to zero too), so
    a subscription's consecutive rows are its movements."""

    class Kind(models.TextChoices):
        OPENING = "opening", "Opening"
        NEW = MovementKind.NEW.value, "New"
        EXPANSION = MovementKind.EXPANSION.value, "Expansion"
        CONTRACTION = MovementKind.CONTRACTION.value, "Contraction"
        CHURN = MovementKind.CHURN.value, "Churn"

    snapshot = models.ForeignKey(
        BillingSnapshot, on_delete=models.CASCADE, related_name="subscription_changes"
    )
    subscription_id = models.CharField("Stripe subscription id", max_length=255, db_index=True)
    currency = models.CharField(max_length=3)
    mrr = models.BigIntegerField()
    previous_mrr = models.BigIntegerField(default=0)
    kind = models.CharField(max_length=16, choices=Kind.choices)

    class Meta:
        verbose_name = "subscription MRR change"
        verbose_name_plural = "subscription MRR changes"
        ordering = ("snapshot__date", "pk")

    def __str__(self) -> str:
        return f"{self.subscription_id}: {self.previous_mrr} → {self.mrr} {self.currency}"
