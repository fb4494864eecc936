"""`usage_record`: one durable insert per call; bad input raises a clear error, writing nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.billing.checkout import holder_customer_ensure
from accounts.models import UsageRecord
from accounts.usage import (
    HolderWithoutCustomerError,
    InvalidUsageValueError,
    UnknownMeterError,
    UsageError,
    usage_record,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings")]


@pytest.fixture
def customer_user(user):
    holder_customer_ensure(holder=user)
    return user


def test_a_call_is_one_insert_and_no_stripe_call(
    customer_user, django_assert_num_queries, settings
) -> None:
    # Stripe out of reach: a call to it would raise.
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    with django_assert_num_queries(1):
        usage_record(holder=customer_user, meter="api_calls", value=3)
    record = UsageRecord.objects.get()
    assert (record.meter, record.value, record.batch_id) == ("api_calls", Decimal(3), None)
    assert record.customer_id == customer_user.customer_id


@pytest.mark.parametrize("value", [1, 2.5, Decimal("0.125"), "7", 0])
def test_numbers_of_any_kind_are_kept_exactly(customer_user, value) -> None:
    usage_record(holder=customer_user, meter="api_calls", value=value)
    assert UsageRecord.objects.get().value == Decimal(str(value))


@pytest.mark.parametrize(
    "value",
    [
        -1,
        Decimal("-0.5"),
        float("nan"),
        float("inf"),
        float("-inf"),
        "NaN",
        "ten",
        "",
        None,
        True,
        [1],
        Decimal("1e20"),
    ],
)
def test_bad_values_raise_and_write_nothing(customer_user, value) -> None:
    with pytest.raises(InvalidUsageValueError) as raised:
        usage_record(holder=customer_user, meter="api_calls", value=value)
    assert isinstance(raised.value, UsageError) and isinstance(raised.value, ValueError)
    assert str(raised.value)
    assert not UsageRecord.objects.exists()


def test_an_unknown_meter_names_the_known_ones(customer_user) -> None:
    with pytest.raises(UnknownMeterError, match="'api_calls'"):
        usage_record(holder=customer_user, meter="api_cals", value=1)
    assert not UsageRecord.objects.exists()


def test_a_holder_without_a_customer_is_refused(user) -> None:
    with pytest.raises(HolderWithoutCustomerError, match="no Stripe customer"):
        usage_record(holder=user, meter="api_calls", value=1)
    assert not UsageRecord.objects.exists()
