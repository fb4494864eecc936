"""The pricing app's one table: Stripe's billing meters, synced (dj-stripe has no model for
them), so metered prices can be told apart by the meter they bill."""

from __future__ import annotations

from django.db import models


class Meter(models.Model):
    """A Stripe billing meter (`mtr_...`), as `stripe_catalog_sync` last read it."""

    stripe_id = models.CharField("Stripe meter id", max_length=255, unique=True)
    event_name = models.CharField(max_length=100, db_index=True)
    display_name = models.CharField(max_length=250, blank=True)
    # "sum", "count" or "last".
    formula = models.CharField(max_length=16, default="sum")
    active = models.BooleanField(default=True)
    livemode = models.BooleanField(default=False)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "meter"
        verbose_name_plural = "meters"

    def __str__(self) -> str:
        return f"{self.display_name or self.event_name} ({self.stripe_id})"
