"""The admin of billing: dj-stripe's models, reduced to the ones Portal uses and made to explain
themselves.

- Only customers, subscriptions, subscription schedules, invoices, products, prices, coupons,
  promotion codes, discounts and payment methods are listed; the other dj-stripe models (about
  35) come back with `PORTAL_ADMIN_SHOW_ALL_DJSTRIPE_MODELS`.
- Stripe owns these objects: they are read-only here (a change is made in Stripe, or through
  Portal's pages, and comes back by webhook), with a "Sync from Stripe" action that reads the
  selected ones again and, when Portal talks to Stripe itself (real keys), a link to each in
  Stripe's Dashboard.
- Subscriptions list their holder (the user or team, linked), plan, status, seats, amount per
  period and period end, filter by status and plan, and are found by email; customers name
  their holder. Each row's billing state is read by `accounts.billing.state`, for a whole page
  of rows in one query.
- Invoices list their `status` (dj-stripe 2.11's own invoice admin reads the `paid` field
  Stripe removed in API 2025-03-31, and fails on every invoice synced at today's version) and
  their total in the invoice's currency.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from djstripe import models as djstripe_models
from djstripe.models.base import StripeModel

from accounts.app_settings import app_settings
from accounts.billing.object_sync import stripe_object_syncable, stripe_objects_sync
from accounts.billing.revenue_maths import period_amount, revenue_subscription
from accounts.billing.state import (
    BillingState,
    billing_state_from_row,
    stripe_timestamp,
    subscriptions_with_billing_data,
)
from accounts.models import SubscriptionHolder, Team, User
from accounts.selectors import (
    Money,
    holders_by_customer,
    plan_names,
    status_label,
    tiered_prices,
)
from portal.stripe_client import stripe_dashboard_links_shown
from pricing.price_maths import amount_format

# What a subscription's status filter offers: Stripe's statuses, and those set to cancel.
SUBSCRIPTION_STATUSES = (
    ("active", "Active"),
    ("trialing", "Free trial"),
    ("past_due", "Past due"),
    ("canceling", "Set to cancel"),
    ("unpaid", "Unpaid"),
    ("paused", "Paused"),
    ("incomplete", "Incomplete"),
    ("incomplete_expired", "Expired"),
    ("canceled", "Canceled"),
)
# How many of a subscription's items the plan filter looks at.
PLAN_FILTER_ITEMS = 5


def _holder_link(holder: SubscriptionHolder | None) -> str:
    if holder is None:
        return "—"
    meta = holder._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[holder.pk])
    return format_html('<a href="{}">{}</a>', url, f"{meta.verbose_name.capitalize()}: {holder}")


class StripeObjectAdmin(admin.ModelAdmin):
    """A Stripe-owned object: read-only, with "Sync from Stripe" and, with real keys, a link to
    Stripe's Dashboard."""

    change_form_template = "admin/billing/stripe_object_change_form.html"
    actions = ("sync_from_stripe",)
    # Fields shown on the object's page, before its Stripe data.
    detail_fields: tuple[str, ...] = ()
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("id", *self.detail_fields, "livemode", "created", "stripe_data_pretty")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return self.get_fields(request, obj)

    @admin.display(description="As Stripe sent it")
    def stripe_data_pretty(self, obj: StripeModel) -> str:
        return format_html(
            "<pre style='white-space: pre-wrap'>{}</pre>",
            json.dumps(obj.stripe_data, indent=2, sort_keys=True),
        )

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not stripe_object_syncable(model=self.model):
            actions.pop("sync_from_stripe", None)
        return actions

    @admin.action(description="Sync the selected objects from Stripe", permissions=["view"])
    def sync_from_stripe(self, request: HttpRequest, queryset: QuerySet[StripeModel]) -> None:
        report = stripe_objects_sync(objects=queryset)
        if report.synced:
            self.message_user(
                request, f"Synced {len(report.synced)} from Stripe.", messages.SUCCESS
            )
        for object_id, reason in report.failed:
            self.message_user(
                request, f"Could not sync {object_id} from Stripe: {reason}", messages.ERROR
            )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        context = dict(extra_context or {})
        obj = self.get_object(request, object_id)
        if obj is not None:
            # The object's Stripe id, not dj-stripe's "<id=...>".
            context["subtitle"] = obj.id
            if stripe_dashboard_links_shown():
                context["stripe_dashboard_url"] = obj.get_stripe_dashboard_url()
        return super().change_view(request, object_id, form_url, extra_context=context)


# --- Rows with their holders and billing states, a page at a time -------------------------------


def _holders_attach(rows: Iterable[StripeModel], *, customer_id_of: Any) -> None:
    rows = list(rows)
    holders = holders_by_customer(customer_ids=[customer_id_of(row) for row in rows])
    for row in rows:
        row.portal_holder = holders.get(customer_id_of(row))


def _subscriptions_attach(rows: Iterable[djstripe_models.Subscription]) -> None:
    """Give each row of a page its holder, billing state, plan name and amount per period
    (three queries for the page, four with teams as holders)."""
    rows = list(rows)
    _holders_attach(rows, customer_id_of=lambda row: row.customer_id)
    prices = tiered_prices()
    states = {row.pk: billing_state_from_row(row) for row in rows}
    names = plan_names(product_ids={state.product_id or "" for state in states.values()})
    now = timezone.now()
    for row in rows:
        state = states[row.pk]
        row.portal_state = state
        row.portal_plan = names.get(state.product_id or "", "—")
        revenue = revenue_subscription(state=state, prices=prices)
        row.portal_amount = (
            Money(period_amount(subscription=revenue, at=now), revenue.currency)
            if revenue.items
            else None
        )


class _SubscriptionChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        _subscriptions_attach(self.result_list)


class _CustomerChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        _holders_attach(self.result_list, customer_id_of=lambda row: row.id)


# --- Subscriptions ------------------------------------------------------------------------------


class SubscriptionStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> tuple[tuple[str, str], ...]:
        return SUBSCRIPTION_STATUSES

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        value = self.value()
        if value is None:
            return queryset
        if value == "canceling":
            return queryset.filter(
                Q(stripe_data__cancel_at_period_end=True) | Q(stripe_data__cancel_at__gt=0),
                stripe_data__status__in=("active", "trialing", "past_due"),
            )
        if value not in dict(SUBSCRIPTION_STATUSES):
            return queryset.none()
        return queryset.filter(stripe_data__status=value)


class SubscriptionPlanFilter(admin.SimpleListFilter):
    """The plan a subscription bills: a product among its items (its first few)."""

    title = "plan"
    parameter_name = "plan"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        products = djstripe_models.Product.objects.order_by("name").values_list("id", flat=True)
        names = plan_names(product_ids=products)
        return sorted(names.items(), key=lambda entry: (entry[1].lower(), entry[0]))

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        product_id = self.value()
        if product_id is None:
            return queryset
        billed = Q()
        for index in range(PLAN_FILTER_ITEMS):
            billed |= Q(**{f"stripe_data__items__data__{index}__price__product": product_id})
        return queryset.filter(billed)


class SubscriptionAdmin(StripeObjectAdmin):
    list_display = ("id", "holder", "plan", "status", "seats", "amount", "period_end")
    list_filter = (SubscriptionStatusFilter, SubscriptionPlanFilter)
    search_fields = ("id", "customer__email", "customer__id")
    search_help_text = (
        "A subscription or customer id, or an email address (the customer's or the holder's)."
    )
    ordering = ("-created",)
    detail_fields = (
        "holder",
        "customer_link",
        "plan",
        "status",
        "seats",
        "amount",
        "period_end",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return subscriptions_with_billing_data()

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return _SubscriptionChangeList

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            _subscriptions_attach([obj])
        return obj

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        found, duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            holders = User.objects.filter(email__icontains=term).values("customer__id")
            teams = Team.objects.filter(
                Q(name__icontains=term) | Q(memberships__user__email__icontains=term)
            ).values("customer__id")
            found |= queryset.filter(Q(customer_id__in=holders) | Q(customer_id__in=teams))
        return found, duplicates

    @staticmethod
    def _state(obj: Any) -> BillingState:
        return obj.portal_state

    @admin.display(description="Holder")
    def holder(self, obj: Any) -> str:
        return _holder_link(obj.portal_holder)

    @admin.display(description="Customer")
    def customer_link(self, obj: Any) -> str:
        customer = obj.customer
        url = reverse("admin:djstripe_customer_change", args=[customer.pk])
        return format_html('<a href="{}">{}</a>', url, customer.email or customer.id)

    @admin.display(description="Plan")
    def plan(self, obj: Any) -> str:
        return obj.portal_plan

    @admin.display(description="Status")
    def status(self, obj: Any) -> str:
        state = self._state(obj)
        return status_label(status=state.status, cancels_on=state.cancels_on)

    @admin.display(description="Seats")
    def seats(self, obj: Any) -> int:
        return self._state(obj).seats

    @admin.display(description="Amount")
    def amount(self, obj: Any) -> str:
        state, amount = self._state(obj), obj.portal_amount
        if amount is None or state.plan_item is None:
            return "—"
        item = state.plan_item
        every = (
            item.interval if item.interval_count == 1 else f"{item.interval_count} {item.interval}s"
        )
        return f"{amount.exact} per {every}"

    @admin.display(description="Period end")
    def period_end(self, obj: Any) -> Any:
        return self._state(obj).period_end


# --- Customers ----------------------------------------------------------------------------------


class CustomerAdmin(StripeObjectAdmin):
    list_display = ("id", "holder", "email", "created")
    search_fields = ("id", "email")
    ordering = ("-created",)
    detail_fields = ("holder", "email")

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return _CustomerChangeList

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            _holders_attach([obj], customer_id_of=lambda row: row.id)
        return obj

    @admin.display(description="Holder")
    def holder(self, obj: Any) -> str:
        return _holder_link(obj.portal_holder)


# --- The other objects --------------------------------------------------------------------------


def _data(key: str, description: str) -> Any:
    @admin.display(description=description)
    def read(self: Any, obj: StripeModel) -> Any:
        value = obj.stripe_data.get(key)
        return "—" if value in (None, "") else value

    return read


class InvoiceAdmin(StripeObjectAdmin):
    list_display = ("number", "customer", "status", "total_amount", "created")
    search_fields = ("id", "customer__email", "customer__id")
    ordering = ("-created",)
    detail_fields = ("number", "customer", "status", "total_amount")
    number = _data("number", "Number")
    status = _data("status", "Status")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("customer")

    @admin.display(description="Total")
    def total_amount(self, invoice: djstripe_models.Invoice) -> str:
        data = invoice.stripe_data
        return amount_format(
            amount=int(data.get("total") or 0), currency=data.get("currency") or "usd", cents=True
        )


class ProductAdmin(StripeObjectAdmin):
    list_display = ("name", "id", "active", "created")
    search_fields = ("id", "name")
    detail_fields = ("name", "active")


class PriceAdmin(StripeObjectAdmin):
    list_display = ("id", "product", "nickname", "recurring", "active")
    search_fields = ("id", "product__name", "product__id")
    list_select_related = ("product",)
    detail_fields = ("product", "nickname", "recurring", "active")

    @admin.display(description="Billed every")
    def recurring(self, price: djstripe_models.Price) -> str:
        recurring = price.stripe_data.get("recurring") or {}
        if not recurring:
            return "Once"
        count, interval = int(recurring.get("interval_count") or 1), recurring.get("interval")
        return interval if count == 1 else f"{count} {interval}s"


class CouponAdmin(StripeObjectAdmin):
    list_display = ("id", "name", "percent_off", "amount_off", "duration")
    search_fields = ("id",)
    detail_fields = ("name", "percent_off", "amount_off", "duration")
    name = _data("name", "Name")
    percent_off = _data("percent_off", "Percent off")
    amount_off = _data("amount_off", "Amount off")
    duration = _data("duration", "Duration")


class PromotionCodeAdmin(StripeObjectAdmin):
    list_display = ("code", "id", "active", "times_redeemed")
    search_fields = ("id", "stripe_data__code")
    detail_fields = ("code", "active", "times_redeemed")
    code = _data("code", "Code")
    active = _data("active", "Active")
    times_redeemed = _data("times_redeemed", "Times redeemed")


def _subscription_link(subscription: djstripe_models.Subscription | None) -> str:
    """A link to the subscription's admin page, named by its Stripe id."""
    if subscription is None:
        return "—"
    url = reverse("admin:djstripe_subscription_change", args=[subscription.pk])
    return format_html('<a href="{}">{}</a>', url, subscription.id)


class DiscountAdmin(StripeObjectAdmin):
    list_display = ("id", "coupon", "of_subscription", "customer", "start", "end")
    list_select_related = ("subscription", "customer")
    search_fields = ("id", "customer__email", "customer__id")
    detail_fields = ("coupon", "of_subscription", "customer", "start", "end")

    @admin.display(description="Subscription")
    def of_subscription(self, discount: djstripe_models.Discount) -> str:
        return _subscription_link(discount.subscription)

    @admin.display(description="Coupon")
    def coupon(self, discount: djstripe_models.Discount) -> str:
        data = discount.stripe_data
        coupon = (data.get("source") or {}).get("coupon") or data.get("coupon") or "—"
        return coupon.get("id", "—") if isinstance(coupon, dict) else coupon

    @admin.display(description="Start")
    def start(self, discount: djstripe_models.Discount) -> Any:
        return stripe_timestamp(discount.stripe_data.get("start")) or "—"

    @admin.display(description="End")
    def end(self, discount: djstripe_models.Discount) -> Any:
        return stripe_timestamp(discount.stripe_data.get("end")) or "—"


class SubscriptionScheduleAdmin(StripeObjectAdmin):
    list_display = ("id", "customer", "of_subscription", "status")
    list_select_related = ("customer", "subscription")
    search_fields = ("id", "customer__email", "customer__id")
    detail_fields = ("customer", "of_subscription", "status")

    @admin.display(description="Subscription")
    def of_subscription(self, schedule: djstripe_models.SubscriptionSchedule) -> str:
        return _subscription_link(schedule.subscription)


class PaymentMethodAdmin(StripeObjectAdmin):
    list_display = ("id", "customer", "card")
    search_fields = ("id", "customer__email", "customer__id")
    detail_fields = ("customer", "card")

    @admin.display(description="Card")
    def card(self, method: djstripe_models.PaymentMethod) -> str:
        card = method.stripe_data.get("card") or {}
        if not card:
            return str(method.stripe_data.get("type") or "—")
        return f"{str(card.get('brand') or 'card').capitalize()} ending in {card.get('last4')}"


PORTAL_ADMINS: dict[type[StripeModel], type[StripeObjectAdmin]] = {
    djstripe_models.Customer: CustomerAdmin,
    djstripe_models.Subscription: SubscriptionAdmin,
    djstripe_models.SubscriptionSchedule: SubscriptionScheduleAdmin,
    djstripe_models.Invoice: InvoiceAdmin,
    djstripe_models.Product: ProductAdmin,
    djstripe_models.Price: PriceAdmin,
    djstripe_models.Coupon: CouponAdmin,
    djstripe_models.PromotionCode: PromotionCodeAdmin,
    djstripe_models.Discount: DiscountAdmin,
    djstripe_models.PaymentMethod: PaymentMethodAdmin,
}


def djstripe_admin_arrange(*, site: admin.AdminSite, show_all: bool) -> None:
    """Register Portal's admins for the dj-stripe models it uses, in place of dj-stripe's, and
    unless `show_all` unregister the other dj-stripe models."""
    for model, model_admin in PORTAL_ADMINS.items():
        if site.is_registered(model):
            site.unregister(model)
        site.register(model, model_admin)
    if show_all:
        return
    for model in list(site._registry):
        if model._meta.app_label == "djstripe" and model not in PORTAL_ADMINS:
            site.unregister(model)


def _show_all_setting() -> bool:
    # A value that is not allowed is reported by `accounts.checks`; the admin still loads.
    try:
        return app_settings.ADMIN_SHOW_ALL_DJSTRIPE_MODELS
    except ImproperlyConfigured:
        return False


djstripe_admin_arrange(site=admin.site, show_all=_show_all_setting())
