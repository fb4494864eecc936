"""dj-stripe's URLs (its `djstripe` namespace and names), with its webhook endpoint behind
Portal's body check (`accounts.webhooks.views.djstripe_webhook`)."""

from __future__ import annotations

from django.urls import path

from accounts.webhooks.views import djstripe_webhook

app_name = "djstripe"

urlpatterns = [
    path("webhook/<uuid:uuid>/", djstripe_webhook, name="djstripe_webhook_by_uuid"),
]
