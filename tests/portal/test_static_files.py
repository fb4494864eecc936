from __future__ import annotations

import gzip
import json

from django.core.management import call_command
from django.test import override_settings


def test_collectstatic_writes_hashed_compressed_css_and_htmx(tmp_path):
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages):
        call_command("collectstatic", interactive=False, verbosity=0)

    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    css = tmp_path / manifest["css/dist/styles.css"]
    assert css.name != "styles.css"  # a content hash is in the name
    assert gzip.decompress((css.parent / f"{css.name}.gz").read_bytes()) == css.read_bytes()
    assert any(name.startswith("django-htmx/") or "htmx" in name for name in manifest)
