"""Django settings for Portal.

This is the one place that reads the environment. Every variable is listed, with its default and
meaning, in the README's "Settings" table. The defaults are the embedded ones that `make run`
uses: a SQLite file, the local Stripe server, and Celery tasks run in-process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


_StrDefault = TypeVar("_StrDefault", str, None)


def env_str(name: str, default: _StrDefault = "") -> str | _StrDefault:  # type: ignore[assignment]
    """The variable's value; `default` when unset (None leaves the setting to its app)."""
    value = os.environ.get(name)
    return default if value is None else value


_BoolDefault = TypeVar("_BoolDefault", bool, None)


def env_bool(name: str, default: _BoolDefault) -> bool | _BoolDefault:
    """True or false (1/0, yes/no, on/off); `default` when unset (None leaves the setting to
    its app)."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


# A default of None leaves the setting to its app's default (its `app_settings`).
_IntDefault = TypeVar("_IntDefault", int, None)


def env_int(name: str, default: _IntDefault) -> int | _IntDefault:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# --- Core -------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", True)

_DEV_SECRET_KEY = "django-insecure-portal-development-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off. Generate one with: python -c "
            "'from django.core.management.utils import get_random_secret_key as k; print(k())'"
        )
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "tailwind",
    "djstripe",
    # Accounts: sign-up, login, email verification, MFA and social login (django-allauth).
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.google",
    "portal",
    "accounts",
    "pricing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "portal.middleware.NullCharacterMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Turns allauth's rate limits and reauthentication into responses (429, a redirect).
    "allauth.account.middleware.AccountMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.TeamMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
SITE_ID = 1

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.billing",
                "accounts.teams.context_processors.teams",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        # Persistent connections: opening one costs more than most requests (a PostgreSQL
        # backend process; SQLite's pragmas), and a health check replaces a dropped one.
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Transactions take the write lock when they begin, and wait for it: a deferred one that
    # reads, then writes while a concurrent request (a webhook delivery) writes, fails at once
    # with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            # Write-ahead logging: readers never wait for the writer, and a commit appends to
            # the log instead of syncing the database file (webhook bursts commit a lot).
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not memory, so `pytest --reuse-db` can skip dj-stripe's slow migrations.
    # TEST_DB_NAME lets several checkouts or runs on one machine keep separate test databases.
    DATABASES["default"]["TEST"] = {
        "NAME": str(BASE_DIR / env_str("TEST_DB_NAME", ".test-db.sqlite3"))
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts ---------------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-allauth. Its own defaults stand unless set here; `accounts/auth/` is Portal's side of it
# (the adapter, the sign-up form, the email gate and the reauthentication decorator).
ACCOUNT_ADAPTER = "accounts.auth.adapter.PortalAccountAdapter"
ACCOUNT_FORMS = {"signup": "accounts.auth.forms.SignupForm"}
# Email is the only identifier: no usernames.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
# One address per account: a new one replaces the old once it is verified.
ACCOUNT_CHANGE_EMAIL = True
# mandatory: sign-up waits for the mailed link, and billing needs a verified address;
# optional: sign-up logs in at once and nothing waits; none: no verification mail.
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
if ACCOUNT_EMAIL_VERIFICATION not in ("mandatory", "optional", "none"):
    raise ImproperlyConfigured(
        "ACCOUNT_EMAIL_VERIFICATION must be 'mandatory', 'optional' or 'none', "
        f"not {ACCOUNT_EMAIL_VERIFICATION!r}."
    )
# Following the mailed link in the browser that signed up logs in (and goes on to `next`).
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
# Sign-up and password reset answer the same for known and unknown addresses (the owner is
# mailed instead); allauth's default, written down because Portal promises it.
ACCOUNT_PREVENT_ENUMERATION = True
# allauth's rate limits, on by default with its figures: 5 failed logins per address in 5
# minutes (and 10 a minute per IP address), then 429 until the 5 minutes are up; 20 sign-ups a
# minute per IP address; 5 password reset mails a minute per address; one verification mail
# per address every 3 minutes. They count in Django's cache: share it between processes in
# production.
ACCOUNT_RATE_LIMITS = {} if env_bool("ACCOUNT_RATE_LIMITS_ENABLED", True) else False
# Sessions last as long as Django's session cookie; the login form asks nothing.
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Portal] "
# Seconds a login (or reauthentication) counts as recent: Manage billing, plan changes and team
# role changes ask for the password (or a second factor) again after that.
ACCOUNT_REAUTHENTICATION_TIMEOUT = env_int("ACCOUNT_REAUTHENTICATION_TIMEOUT", 300)

# Two-factor authentication: an authenticator app (TOTP) and recovery codes, optional per user.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Portal"

# Social login: a provider is offered only when both its client id and secret are set.
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, object]] = {}
_GOOGLE = (env_str("SOCIALACCOUNT_GOOGLE_CLIENT_ID"), env_str("SOCIALACCOUNT_GOOGLE_SECRET"))
_GITHUB = (env_str("SOCIALACCOUNT_GITHUB_CLIENT_ID"), env_str("SOCIALACCOUNT_GITHUB_SECRET"))
if all(_GOOGLE):
    SOCIALACCOUNT_PROVIDERS["google"] = {
        "APPS": [{"client_id": _GOOGLE[0], "secret": _GOOGLE[1]}],
        "SCOPE": ["profile", "email"],
    }
if all(_GITHUB):
    SOCIALACCOUNT_PROVIDERS["github"] = {
        "APPS": [{"client_id": _GITHUB[0], "secret": _GITHUB[1]}],
        "SCOPE": ["user:email"],
    }
SOCIALACCOUNT_ADAPTER = "accounts.auth.adapter.PortalSocialAccountAdapter"

# --- Internationalisation ---------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# The CSS is built by `npm run build` from the root package.json (django-tailwind's npm
# Tailwind v4 template, moved to the project root); `{% tailwind_css %}` links the result.
TAILWIND_CSS_PATH = "css/dist/styles.css"
SILENCED_SYSTEM_CHECKS = ["tailwind.W001"]

# --- Email ------------------------------------------------------------------------------------

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Portal <noreply@localhost>")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
ADMINS = [
    (address.split("@")[0], address) for address in env_list("ADMINS", [])
]  # comma-separated email addresses

# --- HTTPS and absolute URLs ------------------------------------------------------------------

# Absolute URLs (Stripe's success, cancel and return URLs) are built from the Sites framework's
# domain and this scheme.
USE_HTTPS_IN_ABSOLUTE_URLS = env_bool("USE_HTTPS_IN_ABSOLUTE_URLS", False)
if USE_HTTPS_IN_ABSOLUTE_URLS:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Stripe -----------------------------------------------------------------------------------

# The local Stripe server's key. Any `sk_test_` key with 24 or more letters works against it.
LOCAL_STRIPE_SECRET_KEY = "sk_test_localportal0000000000000000"  # noqa: S105
LOCAL_STRIPE_PUBLIC_KEY = "pk_test_localportal0000000000000000"

STRIPE_LIVE_MODE = env_bool("STRIPE_LIVE_MODE", False)
STRIPE_LIVE_SECRET_KEY = env_str("STRIPE_LIVE_SECRET_KEY")
STRIPE_LIVE_PUBLIC_KEY = env_str("STRIPE_LIVE_PUBLIC_KEY")
STRIPE_TEST_SECRET_KEY = env_str("STRIPE_TEST_SECRET_KEY")
STRIPE_TEST_PUBLIC_KEY = env_str("STRIPE_TEST_PUBLIC_KEY")
# With no keys at all, Portal talks to the project's own local Stripe server.
STRIPE_USES_LOCAL_SERVER = not (STRIPE_TEST_SECRET_KEY or STRIPE_LIVE_SECRET_KEY)
if STRIPE_USES_LOCAL_SERVER:
    STRIPE_TEST_SECRET_KEY = LOCAL_STRIPE_SECRET_KEY
    STRIPE_TEST_PUBLIC_KEY = LOCAL_STRIPE_PUBLIC_KEY
if STRIPE_LIVE_MODE and not STRIPE_LIVE_SECRET_KEY:
    raise ImproperlyConfigured("STRIPE_LIVE_MODE is on but STRIPE_LIVE_SECRET_KEY is not set.")

# Where the Stripe API is. Empty means Stripe itself; with no keys, the local Stripe server.
STRIPE_API_BASE = env_str(
    "STRIPE_API_BASE", "http://127.0.0.1:12111" if STRIPE_USES_LOCAL_SERVER else ""
)
if STRIPE_API_BASE:
    # dj-stripe points the stripe SDK at STRIPE_API_HOST when its settings load.
    STRIPE_API_HOST = STRIPE_API_BASE
DJSTRIPE_WEBHOOK_SECRET = env_str("DJSTRIPE_WEBHOOK_SECRET")
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_USE_NATIVE_JSONFIELD = True

# --- Tasks ------------------------------------------------------------------------------------

# With no broker, tasks run in-process (eager): nothing else to install for `make run`.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TIMEZONE = TIME_ZONE
# Task modules outside an app's `tasks.py` (which autodiscovery finds by itself).
CELERY_IMPORTS = ["accounts.webhooks.tasks", "accounts.usage.tasks"]
# `celery -A portal beat` runs these; in-process (no broker) there is no beat, and
# `manage.py check_pending_webhooks` does the same by hand or from cron.
CELERY_BEAT_SCHEDULE = {
    "webhooks-reconcile": {
        "task": "accounts.webhooks.reconcile",
        # Minutes in the environment (as the README says), seconds for beat.
        "schedule": 60.0 * env_int("PORTAL_WEBHOOK_RECONCILE_MINUTES", 15),
    },
    "webhooks-retry-due": {"task": "accounts.webhooks.retry_due", "schedule": 60.0},
    # Push changed seat counts to Stripe (`manage.py sync_subscriptions` by hand or cron).
    "subscriptions-sync": {
        "task": "accounts.subscriptions_sync",
        "schedule": 60.0 * env_int("PORTAL_SEAT_SYNC_INTERVAL_MINUTES", 60),
    },
    # Send recorded usage to Stripe's meters (`manage.py usage_flush` by hand).
    "usage-flush": {"task": "accounts.usage_flush", "schedule": 10.0},
    # Today's billing snapshot, taken again every hour (`manage.py billing_snapshot` by hand):
    # the day's last one stands, so the dashboard is at most an hour behind.
    "billing-snapshot": {"task": "accounts.billing_snapshot", "schedule": 3600.0},
}

# --- Webhooks ---------------------------------------------------------------------------------

# Unset (None), each keeps the default that `accounts/webhooks/app_settings.py` gives it.
# More pending events than this at reconciliation: `check_pending_webhooks` mails the admins.
STRIPE_PENDING_WEBHOOKS_THRESHOLD = env_int("STRIPE_PENDING_WEBHOOKS_THRESHOLD", None)
PORTAL_WEBHOOK_MAX_ATTEMPTS = env_int("PORTAL_WEBHOOK_MAX_ATTEMPTS", None)
# Seconds before a failed event's first retry.
PORTAL_WEBHOOK_RETRY_BACKOFF = env_int("PORTAL_WEBHOOK_RETRY_BACKOFF", None)

# --- Feature gating ---------------------------------------------------------------------------

# Each PORTAL_ setting left unset is None: `accounts/app_settings.py` holds its default.

# Days a past-due subscription keeps its features, from the start of the unpaid period.
PORTAL_PAST_DUE_GRACE_DAYS = env_int("PORTAL_PAST_DUE_GRACE_DAYS", None)

# --- Teams and seats ---------------------------------------------------------------------------

# Who holds a subscription: "user" (each user) or "team" (each team, billed per member).
PORTAL_SUBSCRIPTION_HOLDER = env_str("PORTAL_SUBSCRIPTION_HOLDER", None)
# How Stripe bills a seat change pushed by the sync: create_prorations, always_invoice or none.
PORTAL_SEAT_SYNC_PRORATION_BEHAVIOR = env_str("PORTAL_SEAT_SYNC_PRORATION_BEHAVIOR", None)
# Most quantity updates pushed to one subscription in an hour (Stripe allows 200).
PORTAL_SEAT_SYNC_MAX_UPDATES_PER_HOUR = env_int("PORTAL_SEAT_SYNC_MAX_UPDATES_PER_HOUR", None)
# Seconds after a team's members change before its seat count is pushed (0: only the sync).
PORTAL_SEAT_SYNC_DELAY_SECONDS = env_int("PORTAL_SEAT_SYNC_DELAY_SECONDS", None)
# Days a team invitation's link stays valid.
PORTAL_TEAM_INVITATION_DAYS = env_int("PORTAL_TEAM_INVITATION_DAYS", None)
# When a free trial without a card ends without one: "cancel" or "pause" the subscription.
PORTAL_TRIAL_MISSING_PAYMENT_METHOD = env_str("PORTAL_TRIAL_MISSING_PAYMENT_METHOD", None)

# --- Checkout ----------------------------------------------------------------------------------

# Whether Stripe Checkout shows a promotion code field.
PORTAL_CHECKOUT_ALLOW_PROMOTION_CODES = env_bool("PORTAL_CHECKOUT_ALLOW_PROMOTION_CODES", None)

# --- Admin -----------------------------------------------------------------------------------

# Whether the admin lists every dj-stripe model, not only the ones Portal uses.
PORTAL_ADMIN_SHOW_ALL_DJSTRIPE_MODELS = env_bool("PORTAL_ADMIN_SHOW_ALL_DJSTRIPE_MODELS", None)

# --- Logging ----------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}
