"""Reads about who holds what. The subscription holder is defined here, in one place."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.sites.models import Site
from django.utils import timezone
from djstripe.models import Invoice, Price, Product

from accounts.billing.state import LIVE_STATUSES, BillingDiscount, BillingState
from accounts.models import SubscriptionHolder
from pricing.catalog import active_products, offer_for_price
from pricing.metadata import ProductMetadata
from pricing.price_maths import (
    amount_format,
    coupon_amount_text,
    discounted_total,
    price_terms_from_stripe,
    price_total,
)
from pricing.promotions import Promotion, plan_discount, promotion_lookup
from pricing.selectors import INTERVAL_LABELS

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


def holders_by_customer(*, customer_ids: Iterable[str]) -> dict[str, SubscriptionHolder]:
    """The holders linked to these Stripe customers, by customer id: one query per holder
    model, whatever the number of customers (lists of subscriptions name their holders)."""
    wanted = [customer_id for customer_id in set(customer_ids) if customer_id]
    found: dict[str, SubscriptionHolder] = {}
    if not wanted:
        return found
    for model in holder_models().values():
        for holder in model._default_manager.filter(customer__id__in=wanted).select_related(
            "customer"
        ):
            found.setdefault(holder.customer.id, holder)  # type: ignore[union-attr]
    return found


# --- Subscriptions ------------------------------------------------------------------------------


def absolute_url(*, path: str) -> str:
    """`path` on this site, absolute: the Sites framework's domain, with https when
    `USE_HTTPS_IN_ABSOLUTE_URLS` is on. Stripe sends people back to these URLs."""
    scheme = "https" if settings.USE_HTTPS_IN_ABSOLUTE_URLS else "http"
    return f"{scheme}://{Site.objects.get_current().domain}{path}"


# --- The status page's view of a subscription -------------------------------------------------


@dataclass(frozen=True)
class Money:
    """An amount in a currency's smallest unit (cents), shown as "$12.50" or "$15"."""

    minor_units: int
    currency: str

    def __str__(self) -> str:
        return amount_format(amount=self.minor_units, currency=self.currency)

    @property
    def exact(self) -> str:
        """With the minor unit always shown ("$70.00"; a zero-decimal currency as "¥500")."""
        return amount_format(amount=self.minor_units, currency=self.currency, cents=True)


@dataclass(frozen=True)
class InvoiceSummary:
    number: str
    created: datetime
    amount: Money
    status: str
    # Stripe's hosted invoice page and PDF; a draft invoice has neither.
    url: str | None
    pdf_url: str | None

    @property
    def is_credit(self) -> bool:
        """A negative total (a downgrade's proration credit): Stripe paid nothing out but put
        the amount on the customer's balance, so it must not read as a negative payment."""
        return self.amount.minor_units < 0

    @property
    def credited(self) -> Money:
        """What a credit invoice added to the customer's balance, as a positive amount."""
        return Money(-self.amount.minor_units, self.amount.currency)


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
    # Credit on the customer's Stripe balance, which Stripe applies to the next invoices.
    credit: Money | None = None
    # A change waiting for the end of the period (a downgrade): the plan it moves to, and when.
    changes_to: str | None = None
    changes_on: datetime | None = None
    # Whole days until a live trial ends (0 on its last day), by the calendar.
    trial_days_left: int | None = None
    # A free trial that ended without a card: paused until one is added, or canceled.
    trial_ended_without_card: bool = False
    # The discount and how long it lasts ("20% off until March 15, 2027"), the code it came
    # with, and the amount per period with it (None when it does not change the plan's).
    discount_text: str | None = None
    discount_code: str | None = None
    discounted_amount: Money | None = None
    # Whether the discount is for the next invoice only (a `once` coupon).
    discount_once: bool = False

    @property
    def is_past_due(self) -> bool:
        return self.status == "past_due"

    @property
    def is_paused(self) -> bool:
        return self.status == "paused"

    @property
    def has_card(self) -> bool:
        return self.card_last4 is not None

    @property
    def trial_text(self) -> str:
        """ "11 days left (ends 14 December), then $50 per month"; empty outside a trial."""
        if self.trial_ends_on is None or self.trial_days_left is None:
            return ""
        days = self.trial_days_left
        left = "Ends today" if days == 0 else f"{days} day{'s' if days != 1 else ''} left"
        ends = self.trial_ends_on
        text = f"{left} (ends {ends.day} {ends:%B})" if days else f"{left} ({ends.day} {ends:%B})"
        amount = self.amount
        if self.discounted_amount is not None and not self.discount_once:
            amount = self.discounted_amount
        if amount is not None:
            text += f", then {amount} per {self.interval_text}"
        return text

    @property
    def interval_text(self) -> str:
        """ "month", or "3 months"."""
        if self.interval_count == 1:
            return self.interval
        return f"{self.interval_count} {self.interval}s"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def interval_label(self) -> str:
        """The interval in words, as the pricing page says it: Monthly, Yearly, or Every 3
        months."""
        if self.interval_count == 1:
            return INTERVAL_LABELS.get(self.interval, self.interval)
        return f"Every {self.interval_count} {self.interval}s"


_STATUS_LABELS = {
    "active": "Active",
    "trialing": "Free trial",
    "past_due": "Past due",
    "canceled": "Canceled",
    "incomplete": "Incomplete",
    "incomplete_expired": "Expired",
    "unpaid": "Unpaid",
    "paused": "Paused",
}


def status_label(*, status: str | None, cancels_on: datetime | None = None) -> str:
    """A subscription's status as people read it: "Past due", or "Cancels on March 3, 2027"
    for a live subscription set to cancel."""
    if cancels_on is not None:
        return f"Cancels on {cancels_on:%B} {cancels_on.day}, {cancels_on.year}"
    status = status or "incomplete"
    return _STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


def amount_for_quantity(*, price: dict[str, Any], quantity: int) -> int | None:
    """What `quantity` units of a Stripe price cost per period, in minor units (per-unit,
    package and tiered prices); None when a tiered price's tiers are not known."""
    terms = price_terms_from_stripe(data=price)
    if terms.is_tiered and not terms.tiers:
        return None
    return price_total(terms=terms, quantity=quantity)


def price_data_with_tiers(price: dict[str, Any]) -> dict[str, Any]:
    """The price as the subscription embeds it; for a tiered price, as dj-stripe stored it
    (Stripe leaves `tiers` out of embedded prices, and the amount needs them)."""
    if not price.get("tiers_mode") or price.get("tiers"):
        return price
    stored = Price.objects.filter(id=price.get("id")).first()
    return stored.stripe_data if stored is not None else price


def tiered_prices() -> dict[str, dict[str, Any]]:
    """The stored tiered prices (with their tiers), by id: one query."""
    return dict(
        Price.objects.filter(stripe_data__billing_scheme="tiered").values_list("id", "stripe_data")
    )


def _plan_name(state: BillingState, price: dict[str, Any]) -> str:
    """The plan's name as the pricing page shows it (`pricing.metadata`), else the product's."""
    if state.plan is not None:
        return state.plan.name
    product = price.get("product")
    if isinstance(product, dict):
        return product.get("name") or "Plan"
    stored = Product.objects.filter(id=product).first()
    return stored.name if stored is not None else (price.get("nickname") or "Plan")


def subscription_summary(*, state: BillingState) -> SubscriptionSummary | None:
    """The holder's subscription as the status page shows it; None when there is none."""
    item = state.plan_item
    if item is None or state.subscription_id is None:
        return None
    price = price_data_with_tiers(item.price)
    status = state.status or "incomplete"
    cancels_on = state.cancels_on
    label = status_label(status=status, cancels_on=cancels_on)
    amount = amount_for_quantity(price=price, quantity=item.quantity)
    currency = item.currency
    # A `once` discount its invoice has used stays listed until the next invoice: not shown.
    discount = state.discount if state.discount is not None and not state.discount.spent else None
    return SubscriptionSummary(
        id=state.subscription_id,
        plan_name=_plan_name(state, price),
        interval=item.interval,
        interval_count=item.interval_count,
        seats=item.quantity,
        amount=None if amount is None else Money(amount, currency),
        status="cancels" if cancels_on is not None else status,
        status_label=label,
        cancels_on=cancels_on,
        renews_on=state.renews_on,
        trial_ends_on=state.trial_end if status == "trialing" else None,
        trial_days_left=_days_until(state.trial_end) if status == "trialing" else None,
        trial_ended_without_card=state.trial_ended_without_card,
        card_brand=state.card_brand,
        card_last4=state.card_last4,
        credit=Money(state.credit, state.balance_currency or currency) if state.credit else None,
        changes_to=_scheduled_plan_name(state),
        changes_on=state.scheduled_change.starts if state.scheduled_change else None,
        discount_text=_discount_text(discount) if discount is not None else None,
        discount_code=discount.code if discount is not None else None,
        discounted_amount=_discounted_amount(
            discount, product_id=item.product_id, amount=amount, currency=currency
        ),
        discount_once=(
            discount is not None
            and discount.coupon is not None
            and discount.coupon.duration == "once"
        ),
    )


def _discount_text(discount: BillingDiscount) -> str | None:
    """ "20% off until March 15, 2027", "20% off forever", "$10 off your next invoice"."""
    coupon = discount.coupon
    if coupon is None:
        return "A discount applies to your invoices"
    amount = coupon_amount_text(coupon=coupon)
    if coupon.duration == "forever":
        return f"{amount} off forever"
    if coupon.duration == "repeating" and discount.end is not None:
        end = timezone.localtime(discount.end)
        return f"{amount} off until {end:%B} {end.day}, {end.year}"
    return f"{amount} off your next invoice"


def _discounted_amount(
    discount: BillingDiscount | None, *, product_id: str | None, amount: int | None, currency: str
) -> Money | None:
    """The plan's amount per period with the discount, when the discount takes something off
    it (its coupon discounts the plan's product, in its currency)."""
    if discount is None or discount.coupon is None or amount is None:
        return None
    if not discount.coupon.applies_to(product_id=product_id):
        return None
    after = discounted_total(total=amount, currency=currency, coupon=discount.coupon)
    return Money(after, currency) if after != amount else None


def _days_until(moment: datetime | None) -> int | None:
    """Calendar days from today to `moment`'s day, in the site's time zone (never negative)."""
    if moment is None:
        return None
    return max(0, (timezone.localdate(moment) - timezone.localdate()).days)


def _scheduled_plan_name(state: BillingState) -> str | None:
    change = state.scheduled_change
    if change is None:
        return None
    name = plan_name_for_price(price_id=change.price_id)
    same_price = state.plan_item is not None and state.plan_item.price_id == change.price_id
    if change.quantity > 1 or same_price:
        return f"{name}, {change.quantity} seat{'s' if change.quantity != 1 else ''}"
    return name


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
            pdf_url=invoice.stripe_data.get("invoice_pdf"),
        )
        for invoice in invoices
    ]


# --- What can be bought ---------------------------------------------------------------------------


def _offered_product(product_id: str) -> ProductMetadata | None:
    """How `pricing.metadata.ACTIVE_PRODUCTS` describes the product, if the page offers it."""
    return next((entry for entry in active_products() if entry.stripe_id == product_id), None)


def price_is_per_seat(*, price: Price) -> bool:
    """Whether buying this price buys seats (the product is `per_seat` in pricing.metadata)."""
    offered = _offered_product(price.product.id) if price.product is not None else None
    return bool(offered and offered.per_seat)


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
    if _offered_product(price.product.id) is None:
        return None
    return price


def plan_names(*, product_ids: Iterable[str]) -> dict[str, str]:
    """What to call the plans these products bill: their names in `pricing.metadata`, else the
    synced products' names (one query, for the products the metadata does not list)."""
    wanted = {product_id for product_id in product_ids if product_id}
    names = {plan.stripe_id: plan.name for plan in active_products() if plan.stripe_id in wanted}
    missing = wanted - set(names)
    if missing:
        names.update(Product.objects.filter(id__in=missing).values_list("id", "name"))
    return names


def plan_name_for_price(*, price_id: str) -> str:
    """What to call the plan a price bills: its product's name in `pricing.metadata`, else the
    synced product's name (one query, only for a price the pricing page does not offer)."""
    offer = offer_for_price(price_id=price_id)
    if offer is not None:
        return offer.product.name
    price = Price.objects.select_related("product").filter(id=price_id).first()
    if price is not None and price.product is not None:
        return price.product.name
    return "Plan"


@dataclass(frozen=True)
class CheckoutPromotion:
    """The promotion code a Checkout is to start with: the usable one, or why there is none
    (a message for the person, who goes on without it)."""

    promotion: Promotion | None
    # The plan's price with the code, for the seats chosen (minor units).
    total: int | None = None
    currency: str = "usd"
    message: str | None = None

    @property
    def total_text(self) -> str | None:
        """The price with the code ("$40"); None without a usable code."""
        if self.promotion is None or self.total is None:
            return None
        return amount_format(amount=self.total, currency=self.currency)


def checkout_promotion(
    *, code: str, price: Price, seats: int | None, customer_id: str | None
) -> CheckoutPromotion:
    """Whether the code (as typed, already checked for its shape) can start this Checkout: a
    synced code usable now by this customer whose coupon discounts this price."""
    found = promotion_lookup(code=code, customer_id=customer_id)
    promotion = found.usable
    if promotion is None:
        return CheckoutPromotion(promotion=None, message=f"{found.reason}, so it is not applied.")
    terms = price_terms_from_stripe(data=price.stripe_data)
    product = price.product
    offered = _offered_product(product.id) if product is not None else None
    total = price_total(terms=terms, quantity=seats or 1)
    discount = plan_discount(
        promotion=promotion,
        product_id=product.id if product is not None else "",
        plan_name=offered.name if offered is not None else (product.name if product else "it"),
        total=total,
        currency=terms.currency,
    )
    if not discount.applies:
        return CheckoutPromotion(promotion=None, message=f"{discount.note}, so it is not applied.")
    return CheckoutPromotion(promotion=promotion, total=discount.total, currency=terms.currency)
