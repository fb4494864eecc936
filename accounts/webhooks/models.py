"""The webhook pipeline's one table: every Stripe event received, and how its processing went."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone


class WebhookEvent(models.Model):
    """A Stripe event received at `/stripe/webhook/` (or fetched by reconciliation), stored
    before it is acknowledged, then processed once by `accounts.webhooks`."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        RECONCILE = "reconcile", "Reconciliation"
        REPLAY = "replay", "Replay"

    stripe_id = models.CharField("Stripe event id", max_length=255, unique=True)
    type = models.CharField(max_length=255, db_index=True)
    livemode = models.BooleanField(default=False)
    api_version = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(help_text="The event as Stripe sent it.")
    stripe_created = models.DateTimeField(db_index=True, help_text="When Stripe created the event.")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.WEBHOOK)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.RECEIVED, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When a failed event is due for its next attempt."
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    processed_by = models.CharField(
        max_length=255, blank=True, help_text="The Celery worker (or 'in-process') that ran it."
    )

    class Meta:
        verbose_name = "webhook event"
        verbose_name_plural = "webhook events"
        ordering = ("-stripe_created", "-id")
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_id}"

    @property
    def data_object(self) -> dict[str, Any]:
        """The object the event is about (`data.object`), as it was when the event was sent."""
        return self.payload.get("data", {}).get("object", {})
