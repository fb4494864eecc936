"""The webhook settings: a default for what is unset (None), the setting's value otherwise."""

from __future__ import annotations

from accounts.webhooks.app_settings import webhook_settings


def test_unset_settings_take_their_defaults(settings):
    settings.PORTAL_WEBHOOK_MAX_ATTEMPTS = None
    settings.PORTAL_WEBHOOK_RETRY_BACKOFF = None
    settings.STRIPE_PENDING_WEBHOOKS_THRESHOLD = None
    del settings.PORTAL_WEBHOOK_PROCESSING_TIMEOUT

    assert webhook_settings.MAX_ATTEMPTS == 6
    assert webhook_settings.RETRY_BACKOFF == 30
    assert webhook_settings.PENDING_THRESHOLD == 20
    assert webhook_settings.PROCESSING_TIMEOUT == 600


def test_a_setting_replaces_the_default_even_when_it_is_zero(settings):
    settings.PORTAL_WEBHOOK_MAX_ATTEMPTS = 2
    settings.PORTAL_WEBHOOK_RETRY_BACKOFF = 0
    settings.STRIPE_PENDING_WEBHOOKS_THRESHOLD = 0

    assert webhook_settings.MAX_ATTEMPTS == 2
    assert webhook_settings.RETRY_BACKOFF == 0
    assert webhook_settings.PENDING_THRESHOLD == 0
