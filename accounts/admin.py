from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from accounts.auth.services import email_address_verified_record
from accounts.billing import admin as billing_admin
from accounts.forms import AdminUserChangeForm, AdminUserCreationForm
from accounts.models import (
    Invitation,
    Membership,
    SubscriptionQuantityUpdate,
    Team,
    User,
)
from accounts.usage.admin import UsageBatchAdmin, UsageRecordAdmin
from accounts.usage.models import UsageBatch, UsageRecord
from accounts.webhooks.admin import WebhookEventAdmin
from accounts.webhooks.models import WebhookEvent

# The billing room's admin: dj-stripe's models, reduced to the ones Portal uses, read-only.
assert billing_admin


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = AdminUserChangeForm
    add_form = AdminUserCreationForm
    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "is_staff", "date_joined")
    search_fields = ("email", "first_name", "last_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    # Shown, not edited: when a user joined and last logged in are facts, not settings.
    readonly_fields = ("last_login", "date_joined")
    # Plain multiple selects: Django's two-box widget adds tooltips that screen readers
    # cannot be given (`aria-label` on a span without a role).
    filter_horizontal = ()
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def save_model(self, request: HttpRequest, obj: User, form: object, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            # The operator vouches for the address: recorded as verified.
            email_address_verified_record(user=obj)


# Django's admin autodiscovery imports this module only: the webhook events' admin is registered
# here, where the app's admin pages are listed.
admin.site.register(WebhookEvent, WebhookEventAdmin)


# --- Teams ------------------------------------------------------------------------------------
# Members change through the team pages (accounts.teams.services stamps the seat change there),
# so the admin shows teams' members and invitations without editing them.


class _ReadOnlyInline(admin.StackedInline):
    """Stacked, not tabular: read-only rows as a table have cells without headers, and on a
    phone the table scrolls where a keyboard cannot reach."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class MembershipInline(_ReadOnlyInline):
    model = Membership
    fields = ("user", "role", "created_at")
    readonly_fields = fields


class InvitationInline(_ReadOnlyInline):
    model = Invitation
    fields = ("email", "role", "created_at", "expires_at", "accepted_at", "canceled_at")
    readonly_fields = fields


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "member_count", "subscription", "last_synced_with_stripe")
    search_fields = ("name", "slug")
    readonly_fields = (
        "customer",
        "subscription",
        "billing_details_last_changed",
        "last_synced_with_stripe",
        "created_at",
    )
    inlines = (MembershipInline, InvitationInline)

    @admin.display(description="Members")
    def member_count(self, obj: Team) -> int:
        return obj.get_quantity()


@admin.register(SubscriptionQuantityUpdate)
class SubscriptionQuantityUpdateAdmin(admin.ModelAdmin):
    """The seat counts `sync_subscriptions` pushed to Stripe."""

    list_display = (
        "created_at",
        "holder_reference",
        "subscription_id",
        "quantity_before",
        "quantity",
        "proration_behavior",
    )
    search_fields = ("holder_reference", "subscription_id")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


admin.site.register(UsageBatch, UsageBatchAdmin)
admin.site.register(UsageRecord, UsageRecordAdmin)
