"""The system checks on pricing/metadata.py: shape always, sync state with the database."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.checks import Error, Warning
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from pricing import metadata
from pricing.checks import metadata_shape_check, metadata_synced_check
from pricing.metadata import ProductMetadata

pytestmark = pytest.mark.django_db


def ids(messages: list) -> list[str]:
    return [message.id for message in messages]


def test_the_shipped_metadata_passes_once_the_demo_products_are_synced(demo_catalog: str) -> None:
    assert metadata_shape_check() == []
    assert metadata_synced_check(databases=["default"]) == []
    call_command("check", "--database", "default")


def test_without_a_database_the_sync_check_stays_silent() -> None:
    # What runserver and every command without --database get: no queries, no messages.
    assert metadata_synced_check(databases=None) == []


def test_an_empty_catalog_warns_without_blocking_migrate() -> None:
    messages = metadata_synced_check(databases=["default"])
    assert ids(messages) == ["pricing.W001"]
    assert isinstance(messages[0], Warning)
    assert "bootstrap_subscriptions" in messages[0].hint


def test_an_unsynced_stripe_id_fails_and_names_it_and_the_command(
    demo_catalog: str, use_products: Callable[[list[ProductMetadata]], None]
) -> None:
    use_products(
        [
            *metadata.ACTIVE_PRODUCTS,
            ProductMetadata(stripe_id="prod_never_synced", slug="x", name="X"),
        ]
    )
    messages = metadata_synced_check(databases=["default"])
    assert ids(messages) == ["pricing.E001"]
    assert isinstance(messages[0], Error)
    assert "prod_never_synced" in messages[0].msg
    assert "manage.py bootstrap_subscriptions" in messages[0].hint
    with pytest.raises(SystemCheckError, match="prod_never_synced"):
        call_command("check", "--database", "default")


def test_an_interval_without_a_price_fails(
    make_plans: Callable[..., list[ProductMetadata]],
    use_products: Callable[[list[ProductMetadata]], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from djstripe.models import Price

    plans = make_plans(1)
    use_products(plans)
    Price.objects.filter(
        product_id=plans[0].stripe_id, stripe_data__recurring__interval="year"
    ).update(active=False)
    messages = metadata_synced_check(databases=["default"])
    assert ids(messages) == ["pricing.E002"]
    assert plans[0].stripe_id in messages[0].msg
    assert "yearly" in messages[0].msg
    monkeypatch.setattr(metadata, "ACTIVE_PLAN_INTERVALS", ["month"])
    assert metadata_synced_check(databases=["default"]) == []


def test_metadata_shape_errors(
    use_products: Callable[[list[ProductMetadata]], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    use_products(
        [
            ProductMetadata(stripe_id="prod_a", slug="a", name="A", is_default=True),
            ProductMetadata(stripe_id="prod_a", slug="a", name="B", is_default=True),
        ]
    )
    monkeypatch.setattr(metadata, "ACTIVE_PLAN_INTERVALS", ["month", "decade"])
    assert sorted(ids(metadata_shape_check())) == [
        "pricing.E003",
        "pricing.E004",
        "pricing.E004",
        "pricing.E005",
    ]


def test_meter_and_usage_limit_errors(
    use_products: Callable[[list[ProductMetadata]], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = metadata.MeterMetadata("calls", "calls_event", "call", "calls")
    monkeypatch.setattr(
        metadata,
        "ACTIVE_METERS",
        [calls, metadata.MeterMetadata("calls", "other_event", "call", "calls")],
    )
    use_products(
        [
            ProductMetadata(
                stripe_id="prod_a",
                slug="a",
                name="A",
                usage_limits={
                    "calls": metadata.UsageLimit(-5),
                    "emails": metadata.UsageLimit(10),
                },
            ),
            ProductMetadata(
                stripe_id="prod_b",
                slug="b",
                name="B",
                usage_limits={"calls": metadata.UsageLimit(0)},
            ),
        ]
    )
    errors = [
        error for error in metadata_shape_check() if error.id in ("pricing.E008", "pricing.E009")
    ]
    assert sorted(error.id for error in errors) == ["pricing.E008", "pricing.E009", "pricing.E009"]
    messages = " ".join(error.msg for error in errors)
    assert "'emails', not in ACTIVE_METERS" in messages
    assert "to -5" in messages
