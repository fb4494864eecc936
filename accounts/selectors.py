"""Reads about who holds what. The subscription holder is defined here, in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.sites.models import Site
from django.http import HttpRequest
from djstripe.models import Customer, Invoice, PaymentMethod, Price, Product, Subscription

from accounts.app_settings import app_settings
from accounts.models import SubscriptionHolder


def holder_for_request(request: HttpRequest) -> SubscriptionHolder | None:
    """The subscription holder acting in this request: the user (or, in team mode, their team).

    None for anonymous visitors. The result is cached on the request.
    """
    if not hasattr(request, "_subscription_holder"):
        holder: SubscriptionHolder | None = None
        if request.user.is_authenticated:
            if app_settings.SUBSCRIPTION_HOLDER == "user":
                holder = request.user  # type: ignore[assignment]
            else:
                holder = getattr(request, "team", None)
        request._subscription_holder = holder  # type: ignore[attr-defined]
    return request._subscription_holder  # type: ignore[attr-defined]


# --- Which holder a Stripe object belongs to ---------------------------------------------------
#
# Stripe objects carry a reference to their holder: Checkout's `client_reference_id` and the
# customer's `metadata["portal_holder"]`. The format, "<model name>:<pk>" ("user:42", and
# "team:7" once teams hold subscriptions), is defined here and nowhere else.

HOLDER_METADATA_KEY = "portal_holder"


def holder_models() -> dict[str, type[SubscriptionHolder]]:
    """Every concrete model that can hold a subscription, by its reference prefix."""
    return {
        model._meta.model_name: model  # type: ignore[misc]
        for model in apps.get_models()
        if issubclass(model, SubscriptionHolder)
    }


def holder_reference(*, holder: SubscriptionHolder) -> str:
    """The reference that names `holder` in Stripe ("user:42")."""
    return f"{holder._meta.model_name}:{holder.pk}"


def holder_for_reference(*, reference: str | None) -> SubscriptionHolder | None:
    """The holder a reference names, or None when it is malformed or names nobody."""
    kind, _, pk = (reference or "").partition(":")
    model = holder_models().get(kind)
    if model is None or not pk.isdigit():
        return None
    return model._default_manager.filter(pk=int(pk)).first()


def holder_for_customer(*, customer_id: str) -> SubscriptionHolder | None:
    """The holder linked to this Stripe customer, if any."""
    for model in holder_models().values():
        holder = model._default_manager.filter(customer__id=customer_id).first()
        if holder is not None:
            return holder
    return None


# --- Subscriptions ------------------------------------------------------------------------------

# Statuses in which a subscription is the holder's live one (it may still need a payment).
SUBSCRIPTION_CURRENT_STATUSES = frozenset({"active", "trialing", "past_due"})


def holder_has_current_subscription(*, holder: SubscriptionHolder) -> bool:
    """Whether the holder's linked subscription is live (active, trialing or past due)."""
    subscription = holder.subscription
    return subscription is not None and subscription.status in SUBSCRIPTION_CURRENT_STATUSES


def holder_is_past_due(*, holder: SubscriptionHolder | None) -> bool:
    """Whether the holder's subscription is waiting for a failed payment to be fixed."""
    if holder is None or not holder.subscription_id:
        return False
    return holder.subscription is not None and holder.subscription.status == "past_due"


def absolute_url(*, path: str) -> str:
    """`path` on this site, absolute: the Sites framework's domain, with https when
    `USE_HTTPS_IN_ABSOLUTE_URLS` is on. Stripe sends people back to these URLs."""
    scheme = "https" if settings.USE_HTTPS_IN_ABSOLUTE_URLS else "http"
    return f"{scheme}://{Site.objects.get_current().domain}{path}"


# --- The status page's view of a subscription -------------------------------------------------

_CURRENCY_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "cad": "CA$", "aud": "A$", "jpy": "¥"}
_ZERO_DECIMAL_CURRENCIES = frozenset({"jpy", "krw", "vnd", "clp", "pyg", "ugx", "xaf", "xof"})


@dataclass(frozen=True)
class Money:
    """An amount in a currency's smallest unit (cents), shown as "$12.00"."""

    minor_units: int
    currency: str

    def __str__(self) -> str:
        currency = self.currency.lower()
        if currency in _ZERO_DECIMAL_CURRENCIES:
            number = f"{self.minor_units:,}"
        else:
            number = f"{self.minor_units / 100:,.2f}"
        symbol = _CURRENCY_SYMBOLS.get(currency)
        return f"{symbol}{number}" if symbol else f"{number} {currency.upper()}"


@dataclass(frozen=True)
class InvoiceSummary:
    number: str
    created: datetime
    amount: Money
    status: str
    url: str | None


@dataclass(frozen=True)
class SubscriptionSummary:
    """Everything `/subscription/` shows, read from dj-stripe's rows (no Stripe calls)."""

    id: str
    plan_name: str
    interval: str
    interval_count: int
    seats: int
    amount: Money | None
    status: str
    status_label: str
    cancels_on: datetime | None
    renews_on: datetime | None
    trial_ends_on: datetime | None
    card_brand: str | None
    card_last4: str | None
    invoices: list[InvoiceSummary] = field(default_factory=list)

    @property
    def is_past_due(self) -> bool:
        return self.status == "past_due"

    @property
    def is_live(self) -> bool:
        return self.status in SUBSCRIPTION_CURRENT_STATUSES

    @property
    def interval_label(self) -> str:
        """The interval in words: Monthly, Annual, or Every 3 months."""
        if self.interval_count == 1:
            return {"day": "Daily", "week": "Weekly", "month": "Monthly", "year": "Annual"}.get(
                self.interval, self.interval
            )
        return f"Every {self.interval_count} {self.interval}s"


_STATUS_LABELS = {
    "active": "Active",
    "trialing": "Trialing",
    "past_due": "Past due",
    "canceled": "Canceled",
    "incomplete": "Incomplete",
    "incomplete_expired": "Expired",
    "unpaid": "Unpaid",
    "paused": "Paused",
}


def amount_for_quantity(*, price: dict[str, Any], quantity: int) -> int | None:
    """What `quantity` units of a Stripe price cost per period, in minor units.

    Handles per-unit prices (with `transform_quantity` packages) and tiered prices (volume and
    graduated). None when the price's tiers are unknown.
    """
    if price.get("billing_scheme") == "tiered":
        tiers = price.get("tiers") or []
        if not tiers:
            return None
        if price.get("tiers_mode") == "volume":
            for tier in tiers:
                if tier.get("up_to") is None or quantity <= int(tier["up_to"]):
                    return _tier_unit(tier) * quantity + int(tier.get("flat_amount") or 0)
            return None
        total, floor = 0, 0
        for tier in tiers:
            if quantity <= floor:
                break
            ceiling = quantity if tier.get("up_to") is None else min(quantity, int(tier["up_to"]))
            total += _tier_unit(tier) * (ceiling - floor) + int(tier.get("flat_amount") or 0)
            floor = ceiling
        return total
    unit = price.get("unit_amount")
    if unit is None:
        return None
    transform = price.get("transform_quantity") or None
    if transform:
        divide_by = int(transform.get("divide_by") or 1)
        packages, remainder = divmod(quantity, divide_by)
        if remainder and transform.get("round") == "up":
            packages += 1
        return int(unit) * packages
    return int(unit) * quantity


def _tier_unit(tier: dict[str, Any]) -> int:
    return int(tier.get("unit_amount") or 0)


def _timestamp(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromtimestamp(int(value), tz=UTC)


def _price_data(price: dict[str, Any]) -> dict[str, Any]:
    """The price as stored by dj-stripe when it has been synced (with its tiers), else as the
    subscription embeds it (embedded prices leave out `tiers`)."""
    stored = Price.objects.filter(id=price.get("id")).first()
    if stored is not None and (stored.stripe_data.get("tiers") or not price.get("tiers_mode")):
        return stored.stripe_data
    return price


def _product_name(price: dict[str, Any]) -> str:
    product = price.get("product")
    if isinstance(product, dict):
        return product.get("name") or "Plan"
    stored = Product.objects.filter(id=product).first()
    return stored.name if stored is not None else (price.get("nickname") or "Plan")


def _card(subscription: Subscription, customer: Customer | None) -> tuple[str | None, str | None]:
    payment_method = subscription.default_payment_method or (
        ((customer.stripe_data.get("invoice_settings") or {}) if customer else {}).get(
            "default_payment_method"
        )
    )
    if isinstance(payment_method, dict):
        card = payment_method.get("card") or {}
    else:
        stored = PaymentMethod.objects.filter(id=payment_method).first() if payment_method else None
        card = (stored.stripe_data.get("card") or {}) if stored is not None else {}
    return card.get("brand"), card.get("last4")


def subscription_summary(*, holder: SubscriptionHolder | None) -> SubscriptionSummary | None:
    """The holder's subscription as the status page shows it; None when there is none."""
    if holder is None or holder.subscription is None:
        return None
    subscription = holder.subscription
    data = subscription.stripe_data
    items = (data.get("items") or {}).get("data") or []
    if not items:
        return None
    item = items[0]
    price = _price_data(item.get("price") or {})
    recurring = price.get("recurring") or {}
    seats = int(item.get("quantity") or 1)
    status = data.get("status") or "incomplete"
    cancels_on = None
    if status in SUBSCRIPTION_CURRENT_STATUSES:
        if data.get("cancel_at_period_end"):
            cancels_on = _timestamp(data.get("current_period_end"))
        elif data.get("cancel_at"):
            cancels_on = _timestamp(data.get("cancel_at"))
    label = _STATUS_LABELS.get(status, status.replace("_", " ").capitalize())
    if cancels_on is not None:
        label = f"Cancels on {cancels_on:%B} {cancels_on.day}, {cancels_on.year}"
    amount = amount_for_quantity(price=price, quantity=seats)
    brand, last4 = _card(subscription, holder.customer)
    return SubscriptionSummary(
        id=subscription.id,
        plan_name=_product_name(price),
        interval=recurring.get("interval") or "month",
        interval_count=int(recurring.get("interval_count") or 1),
        seats=seats,
        amount=None if amount is None else Money(amount, price.get("currency") or "usd"),
        status="cancels" if cancels_on is not None else status,
        status_label=label,
        cancels_on=cancels_on,
        renews_on=(
            _timestamp(data.get("current_period_end"))
            if status in SUBSCRIPTION_CURRENT_STATUSES and cancels_on is None
            else None
        ),
        trial_ends_on=_timestamp(data.get("trial_end")) if status == "trialing" else None,
        card_brand=brand,
        card_last4=last4,
        invoices=invoice_summaries(customer_id=holder.customer.id if holder.customer else None),
    )


def invoice_summaries(*, customer_id: str | None, limit: int = 5) -> list[InvoiceSummary]:
    """The customer's latest invoices, newest first."""
    if not customer_id:
        return []
    invoices = Invoice.objects.filter(customer__id=customer_id).order_by("-created")[:limit]
    return [
        InvoiceSummary(
            number=invoice.stripe_data.get("number") or invoice.id,
            created=invoice.created,
            amount=Money(
                int(invoice.stripe_data.get("total") or 0),
                invoice.stripe_data.get("currency") or "usd",
            ),
            status=invoice.stripe_data.get("status") or "",
            url=invoice.stripe_data.get("hosted_invoice_url"),
        )
        for invoice in invoices
    ]


# --- What can be bought ---------------------------------------------------------------------------


def _offered_product_ids() -> set[str] | None:
    """The products the pricing page offers (`pricing.metadata.ACTIVE_PRODUCTS`); None when the
    project does not list them, and then every active product may be bought."""
    try:
        from pricing.metadata import ACTIVE_PRODUCTS  # type: ignore[import-not-found]
    except ImportError:
        return None
    offered: set[str] = set()
    for entry in ACTIVE_PRODUCTS:
        if isinstance(entry, str):
            offered.add(entry)
        else:
            for name in ("stripe_id", "product_id", "id"):
                if getattr(entry, name, None):
                    offered.add(getattr(entry, name))
                    break
    return offered


def checkout_price(*, price_id: str) -> Price | None:
    """The price a subscribe button names, when it may be bought: active, recurring, synced into
    dj-stripe, of an active product the pricing page offers. None otherwise."""
    if not price_id or len(price_id) > 255:
        return None
    price = Price.objects.select_related("product").filter(id=price_id, active=True).first()
    if price is None or price.stripe_data.get("type") != "recurring":
        return None
    if price.product is None or not price.product.active:
        return None
    offered = _offered_product_ids()
    if offered is not None and price.product.id not in offered:
        return None
    return price
