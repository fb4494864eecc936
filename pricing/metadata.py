"""The plans your pricing page shows: edit this file to describe your Stripe products.

Prices come from Stripe (synced into the database by `manage.py bootstrap_subscriptions`); this
file says which products to show, in which order, and the words around them. After you create
products in Stripe, `bootstrap_subscriptions` prints an `ACTIVE_PRODUCTS = [...]` snippet to
paste here.

The products shipped below are the demo products `manage.py bootstrap_demo_products` creates
(with these fixed ids) in whichever Stripe is configured, so the page is full on a fresh machine.

`manage.py check --database default` (and `migrate`) reports a product that is not synced, or
an interval of `ACTIVE_PLAN_INTERVALS` a product has no active price for.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProductMetadata:
    """How one Stripe product appears on the pricing page.

    - `stripe_id`: the Stripe product id (`prod_...`).
    - `slug`: a short, stable name for URLs and templates (`"pro"`).
    - `name`, `description`, `features`: what the card says.
    - `price_displays`: optional text that replaces the computed price on the card, per
      interval (`{"month": "Talk to us"}`); the computed price is used where it is not set.
    - `is_default`: the plan the page highlights (at most one).
    - `per_seat`: billed by the number of seats: the page's seat count re-prices this card.
    - `group`: optional name of a Django `Group` that holders on this plan are put in (and
      taken out of when they leave it), so `user.has_perm` follows the plan.
    - `max_seats`: optional cap on a per-seat plan's seats: a team at the cap must upgrade
      before it can invite more members.
    - `trial_days`: days of free trial a new subscriber gets (0: no trial). Each holder gets
      one trial, of any plan.
    - `trial_requires_card`: whether the trial's Checkout asks for a card (default). Without
      one, the trial ends as `PORTAL_TRIAL_MISSING_PAYMENT_METHOD` says (cancel or pause)
      unless a card is added by then.
    - `usage_limits`: optional cap per meter (`{"api_calls": UsageLimit(20_000)}`) on what a
      holder on this plan may use in a billing period; see `accounts.usage`. What usage costs
      is not set here: the product's metered prices in Stripe say it (a free first tier is
      what a plan includes).
    """

    stripe_id: str
    slug: str
    name: str
    description: str = ""
    features: list[str] = field(default_factory=list)
    price_displays: dict[str, str] = field(default_factory=dict)
    is_default: bool = False
    per_seat: bool = False
    group: str | None = None
    max_seats: int | None = None
    trial_days: int = 0
    trial_requires_card: bool = True
    usage_limits: dict[str, UsageLimit] = field(default_factory=dict)


@dataclass(frozen=True)
class UsageLimit:
    """The most of a meter a plan's holder may use in a month (twelve times it in a yearly
    plan's period).

    `hard`: past it, `usage_within_limit` says no and gates refuse ("upgrade for more"); a soft
    limit only warns on the status page, and the usage is billed.
    """

    quantity: int
    hard: bool = True


@dataclass(frozen=True)
class MeterMetadata:
    """A usage meter: what `usage_record(holder=..., meter=slug, value=...)` counts.

    - `slug`: the name code records usage under (`"api_calls"`).
    - `event_name`: the `event_name` of the Stripe meter it is sent to; products bill it with
      metered prices on that meter (`recurring[meter]`).
    - `unit`, `unit_plural`: what one unit is called on the pricing and status pages.
    """

    slug: str
    event_name: str
    unit: str
    unit_plural: str

    def units(self, quantity: int | float) -> str:
        """ "1 API call", "10,000 API calls"."""
        word = self.unit if quantity == 1 else self.unit_plural
        return f"{quantity:,} {word}"


# The meters usage can be recorded for. `bootstrap_subscriptions` syncs the Stripe meters with
# these event names; `manage.py check` reports one Stripe does not have.
ACTIVE_METERS: list[MeterMetadata] = [
    MeterMetadata(
        slug="api_calls", event_name="portal_api_calls", unit="API call", unit_plural="API calls"
    ),
]


# The intervals the page offers, in the order of its toggle: "month" and/or "year".
# The first one is shown by default.
ACTIVE_PLAN_INTERVALS: list[str] = ["month", "year"]

# The products the page shows, in this order.
ACTIVE_PRODUCTS: list[ProductMetadata] = [
    ProductMetadata(
        stripe_id="prod_portal_basic",
        slug="basic",
        name="Basic",
        description="For trying things out on your own.",
        features=["1 project", "Community support", "Core features"],
        usage_limits={"api_calls": UsageLimit(0)},
    ),
    ProductMetadata(
        stripe_id="prod_portal_starter",
        slug="starter",
        name="Starter",
        description="For small teams getting serious.",
        features=["10 projects", "Email support", "Integrations", "Usage reports"],
        is_default=True,
        trial_days=7,
        trial_requires_card=False,
        usage_limits={"api_calls": UsageLimit(50_000)},
    ),
    ProductMetadata(
        stripe_id="prod_portal_pro",
        slug="pro",
        name="Pro",
        description="For businesses that need more.",
        features=["Unlimited projects", "Priority support", "Single sign-on", "Audit log"],
        trial_days=14,
        usage_limits={"api_calls": UsageLimit(1_000_000, hard=False)},
    ),
    # The per-seat plans are Pro priced another way, and say so: where one costs less than
    # Pro, its card says for which team sizes (tests/pricing/test_demo_catalog.py checks it).
    ProductMetadata(
        stripe_id="prod_portal_team_seats",
        slug="team",
        name="Team",
        description="Pro, priced per member instead of one flat price.",
        features=[
            "Pro's features, API calls not billed by use",
            "One seat per member: the bill follows your team",
            "Less than Pro for teams of up to 4",
        ],
        per_seat=True,
    ),
    ProductMetadata(
        stripe_id="prod_portal_seat_packs",
        slug="seat-packs",
        name="Seat packs",
        description="Pro, bought ten seats at a time.",
        features=[
            "Pro's features, API calls not billed by use",
            "Pro's price for each pack of 10 seats",
            "A new pack starts with the 11th member",
        ],
        per_seat=True,
    ),
]
