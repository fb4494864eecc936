"""Usage recorded by `usage_record`, and the batches `usage_flush` sends to Stripe's meters."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class UsageBatch(models.Model):
    """What one flush sends to Stripe as one meter event: the sum of a holder's pending records
    of one meter in one window. Its `identifier` is fixed when the batch is made, so however
    often it is sent (a retry, a second worker, after a crash), Stripe counts it once."""

    customer = models.ForeignKey(
        "djstripe.Customer", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    meter = models.CharField(max_length=100)
    event_name = models.CharField(max_length=100)
    value = models.DecimalField(max_digits=24, decimal_places=6)
    # The meter event's time: the latest record's, so the usage falls in the period it was used.
    timestamp = models.DateTimeField()
    identifier = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # Why Stripe refused it for good (it is not sent again); empty while it may still be sent.
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = "usage batch"
        verbose_name_plural = "usage batches"
        indexes = [
            models.Index(
                fields=["id"],
                name="usage_batch_unsent",
                condition=models.Q(sent_at__isnull=True, error=""),
            )
        ]

    def __str__(self) -> str:
        return f"{self.value} {self.meter} ({self.identifier})"


class UsageRecord(models.Model):
    """One `usage_record` call: durable the moment the call returns, sent later by a flush."""

    customer = models.ForeignKey(
        "djstripe.Customer", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    meter = models.CharField(max_length=100)
    value = models.DecimalField(max_digits=24, decimal_places=6)
    recorded_at = models.DateTimeField(default=timezone.now)
    batch = models.ForeignKey(
        UsageBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="records"
    )

    class Meta:
        verbose_name = "usage record"
        verbose_name_plural = "usage records"
        indexes = [
            # This period's usage of one holder's meter (the status page, limits).
            models.Index(fields=["customer", "meter", "recorded_at"], name="usage_by_period"),
            # What a flush has still to send.
            models.Index(
                fields=["id"], name="usage_pending", condition=models.Q(batch__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.value} {self.meter} at {self.recorded_at:%Y-%m-%d %H:%M:%S}"
