"""The admin's view of usage: the batches sent to Stripe (and any it refused, with why), and
the records (registered in `accounts/admin.py`). Read-only: usage is recorded by code and
sent by flushes, never typed in."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class UsageBatchAdmin(_ReadOnly):
    """What each flush sent: one meter event per holder, meter and minute."""

    list_display = ("identifier", "customer_id", "meter", "value", "timestamp", "sent_at", "error")
    list_filter = ("meter", ("sent_at", admin.EmptyFieldListFilter))
    search_fields = ("identifier", "customer__id", "error")
    date_hierarchy = "created_at"


class UsageRecordAdmin(_ReadOnly):
    """Each `usage_record` call; a record without a batch waits for the next flush."""

    list_display = ("recorded_at", "customer_id", "meter", "value", "batch")
    list_filter = ("meter", ("batch", admin.EmptyFieldListFilter))
    search_fields = ("customer__id",)
    date_hierarchy = "recorded_at"
    list_select_related = ("batch",)
