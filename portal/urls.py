from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from accounts.metrics.views import billing_dashboard_page
from accounts.webhooks.views import stripe_webhook
from portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("", include("accounts.urls")),
    # allauth's pages (login, sign-up, email, password, two-factor, social login), with
    # Portal's sign-up page in front of its own.
    path("accounts/", include("accounts.auth.urls")),
    path("pricing/", include("pricing.urls")),
    # The billing dashboard, a page of the admin site (staff only), before the admin's own.
    path(
        "admin/billing/",
        admin.site.admin_view(billing_dashboard_page),
        name="billing_dashboard",
    ),
    path("admin/", admin.site.urls),
    # Portal's webhook endpoint (DJSTRIPE_WEBHOOK_SECRET), before dj-stripe's include.
    path("stripe/webhook/", stripe_webhook, name="stripe_webhook"),
    # dj-stripe's own webhook endpoints (webhook/<uuid>/), for projects that configure them,
    # behind Portal's check of the body.
    path("stripe/", include("accounts.webhooks.djstripe_urls", namespace="djstripe")),
]

# The page allauth's rate limits answer with (429).
handler429 = "accounts.auth.views.too_many_requests"
