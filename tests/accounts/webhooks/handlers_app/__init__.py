"""An installed app with its own webhook handlers, as a project adds one (see test_registry.py)."""

from __future__ import annotations
