from __future__ import annotations

from django.urls import include, path

from accounts import views
from accounts.auth import views as auth_views
from accounts.billing import views as billing_views
from accounts.usage import views as usage_views

app_name = "accounts"

urlpatterns = [
    path("subscription/", views.subscription, name="subscription"),
    path("subscription/invoices/", views.subscription_invoices, name="subscription_invoices"),
    path("subscription/change/", billing_views.plan_change, name="plan_change"),
    path("subscription/change/keep/", billing_views.plan_change_keep, name="plan_change_keep"),
    path("subscription/checkout/", views.subscription_checkout, name="subscription_checkout"),
    path(
        "subscription/checkout/canceled/",
        views.subscription_checkout_canceled,
        name="subscription_checkout_canceled",
    ),
    path("subscription/confirm/", views.subscription_confirm, name="subscription_confirm"),
    path("subscription/billing/", views.billing_portal, name="billing_portal"),
    path("subscription/add-card/", views.subscription_add_card, name="subscription_add_card"),
    path("subscription/usage/", usage_views.subscription_usage, name="subscription_usage"),
    path("subscription/demo/", views.subscription_demo, name="subscription_demo"),
    path("subscription/demo/api-call/", usage_views.usage_demo_call, name="usage_demo_call"),
    path("subscription/demo/pro/", views.subscription_demo_pro, name="subscription_demo_pro"),
    path(
        "subscription/demo/members/",
        views.SubscriptionDemoMembersView.as_view(),
        name="subscription_demo_members",
    ),
    path("", include("accounts.teams.urls")),
    # Sign-up, login and the rest are allauth's (`accounts.auth.urls`, outside this namespace).
    path("accounts/profile/", views.profile, name="profile"),
    path("accounts/verify-email/", auth_views.email_verify, name="email_verify"),
]
