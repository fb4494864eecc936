"""Settings for the benchmarks only: Portal's own, with `bench.urls` adding the comparison pages.

DJANGO_SETTINGS_MODULE=bench.settings gunicorn portal.wsgi
"""

from __future__ import annotations

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# The reference pages' templates.
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "templates"]  # noqa: F405
