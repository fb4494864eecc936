"""What tests need to start Portal's own commands in another process."""

from __future__ import annotations

from urllib.parse import quote

from django.db import connection


def subprocess_database_url() -> str:
    """The test database as a DATABASE_URL, for a command run in a subprocess (the test must
    commit what the command is to see: `django_db(transaction=True)`)."""
    config = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{config['NAME']}"
    auth = quote(config["USER"] or "")
    if config["PASSWORD"]:
        auth += ":" + quote(config["PASSWORD"])
    return f"postgres://{auth}@{config['HOST']}:{config['PORT']}/{config['NAME']}"
