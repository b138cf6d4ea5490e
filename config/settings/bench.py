"""Benchmarks: test settings, but uploads on disk (a 70 MB file must not sit in memory)."""

from config.settings.test import *  # noqa: F403
from config.settings.test import BASE_DIR, STORAGES

STORAGES = {
    **STORAGES,
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(BASE_DIR / ".local" / "bench-media")},
    },
}
