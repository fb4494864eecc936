"""The admin's view of the received Stripe events (registered in `accounts/admin.py`)."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from accounts.webhooks.models import WebhookEvent
from accounts.webhooks.scheduling import webhook_events_retry


class WebhookEventAdmin(admin.ModelAdmin):
    """The Stripe events received, with their status and error, and a retry action."""

    list_display = ("stripe_id", "type", "status", "attempts", "stripe_created", "processed_at")
    list_filter = ("status", "source", "type")
    search_fields = ("stripe_id", "type")
    date_hierarchy = "received_at"
    actions = ("retry_events",)
    readonly_fields = (
        "stripe_id",
        "type",
        "livemode",
        "api_version",
        "source",
        "status",
        "attempts",
        "stripe_created",
        "received_at",
        "processing_started_at",
        "next_attempt_at",
        "processed_at",
        "processed_by",
        "error",
        "payload_pretty",
    )
    exclude = ("payload", "last_error")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: WebhookEvent | None = None) -> bool:
        return False

    @admin.display(description="Last error")
    def error(self, obj: WebhookEvent) -> str:
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>", obj.last_error or "-")

    @admin.display(description="Payload")
    def payload_pretty(self, obj: WebhookEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, sort_keys=True))

    @admin.action(description="Process the selected events again", permissions=["view"])
    def retry_events(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        count = webhook_events_retry(events=queryset)
        self.message_user(request, f"{count} events queued for processing.", messages.SUCCESS)
