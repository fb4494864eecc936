"""Which handlers run for an event, in which order: Portal's first, as written, then the apps'."""

from __future__ import annotations

import sys

import pytest

from accounts.gating_handlers import (
    checkout_completed_sync_groups,
    subscription_changed_sync_groups,
)
from accounts.webhooks import webhook_handler, webhook_handler_unregister
from accounts.webhooks.builtin_handlers import (
    checkout_session_completed_link_holder,
    payment_failed_mail_customer,
    subscription_canceled_mail_admins,
    subscription_changed_refresh_holder,
)
from accounts.webhooks.models import WebhookEvent
from accounts.webhooks.registry import webhook_handlers_for


def test_portals_handlers_run_in_their_written_order():
    assert webhook_handlers_for("checkout.session.completed") == [
        checkout_session_completed_link_holder,
        checkout_completed_sync_groups,
    ]
    assert webhook_handlers_for("customer.subscription.deleted") == [
        subscription_changed_refresh_holder,
        subscription_canceled_mail_admins,
        subscription_changed_sync_groups,
    ]
    assert webhook_handlers_for("customer.subscription.paused") == [
        subscription_changed_refresh_holder
    ]
    assert webhook_handlers_for("invoice.payment_failed") == [payment_failed_mail_customer]
    assert webhook_handlers_for("product.created") == []


def test_a_handler_registered_later_runs_after_portals_once_and_can_be_unregistered():
    @webhook_handler("checkout.session.*", "*")
    def mine(event: WebhookEvent) -> None:
        pass

    try:
        assert webhook_handlers_for("checkout.session.completed") == [
            checkout_session_completed_link_holder,
            checkout_completed_sync_groups,
            mine,
        ]
        assert webhook_handlers_for("product.created") == [mine]
    finally:
        webhook_handler_unregister(mine)

    assert mine not in webhook_handlers_for("checkout.session.completed")


def test_an_installed_apps_webhook_handlers_module_is_registered_after_portals(settings):
    # Installing an app loads the apps again, which registers the handlers as at startup.
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "tests.accounts.webhooks.handlers_app"]
    # Imported by the registration, not by this test (whose import would register it too).
    module = sys.modules["tests.accounts.webhooks.handlers_app.webhook_handlers"]
    checkout_completed_welcome = module.checkout_completed_welcome

    try:
        assert webhook_handlers_for("checkout.session.completed") == [
            checkout_session_completed_link_holder,
            checkout_completed_sync_groups,
            checkout_completed_welcome,
        ]
    finally:
        webhook_handler_unregister(checkout_completed_welcome)


def test_a_handler_needs_an_event_type():
    with pytest.raises(TypeError, match="at least one event type"):
        webhook_handler()
