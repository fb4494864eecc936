from __future__ import annotations

import pytest


@pytest.fixture
def password() -> str:
    return "correct-horse-battery-staple"


@pytest.fixture
def user(django_user_model, password):
    return django_user_model.objects.create_user(email="ada@example.com", password=password)


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    # Tests serve the source static files; the hashed, compressed pipeline that production
    # uses is exercised by tests/portal/test_static_files.py through collectstatic.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
