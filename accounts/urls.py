from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from accounts import views
from accounts.billing import views as billing_views

app_name = "accounts"

urlpatterns = [
    path("subscription/", views.subscription, name="subscription"),
    path("subscription/invoices/", views.subscription_invoices, name="subscription_invoices"),
    path("subscription/change/", billing_views.plan_change, name="plan_change"),
    path("subscription/change/keep/", billing_views.plan_change_keep, name="plan_change_keep"),
    path("subscription/checkout/", views.subscription_checkout, name="subscription_checkout"),
    path("subscription/confirm/", views.subscription_confirm, name="subscription_confirm"),
    path("subscription/billing/", views.billing_portal, name="billing_portal"),
    path("subscription/add-card/", views.subscription_add_card, name="subscription_add_card"),
    path("subscription/demo/", views.subscription_demo, name="subscription_demo"),
    path("subscription/demo/pro/", views.subscription_demo_pro, name="subscription_demo_pro"),
    path(
        "subscription/demo/members/",
        views.SubscriptionDemoMembersView.as_view(),
        name="subscription_demo_members",
    ),
    path("", include("accounts.teams.urls")),
    path("accounts/signup/", views.signup, name="signup"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="accounts/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/profile/", views.profile, name="profile"),
    path(
        "accounts/password/change/",
        auth_views.PasswordChangeView.as_view(
            template_name="accounts/password_change.html",
            success_url=reverse_lazy("accounts:password_change_done"),
        ),
        name="password_change",
    ),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name="accounts/password_change_done.html"
        ),
        name="password_change_done",
    ),
    path(
        "accounts/password/reset/",
        auth_views.PasswordResetView.as_view(
            template_name="accounts/password_reset.html",
            email_template_name="accounts/email/password_reset.txt",
            subject_template_name="accounts/email/password_reset_subject.txt",
            success_url=reverse_lazy("accounts:password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="accounts/password_reset_confirm.html",
            success_url=reverse_lazy("accounts:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
]
