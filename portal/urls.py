from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from accounts.webhooks.views import stripe_webhook
from portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("", include("accounts.urls")),
    path("pricing/", include("pricing.urls")),
    path("admin/", admin.site.urls),
    # Portal's webhook endpoint (DJSTRIPE_WEBHOOK_SECRET), before dj-stripe's include.
    path("stripe/webhook/", stripe_webhook, name="stripe_webhook"),
    # dj-stripe's own webhook endpoints (webhook/<uuid>/), for projects that configure them.
    path("stripe/", include("djstripe.urls", namespace="djstripe")),
]
