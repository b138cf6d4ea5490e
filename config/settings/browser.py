"""The server the browser tests drive: test settings, static files served, files on disk."""

from config.settings.cache import cache_settings
from config.settings.test import *  # noqa: F403
from config.settings.test import BASE_DIR, STORAGES, env

# Links in emails and messages must carry the test server's port.
SITE_PORT = env.str("SITE_PORT", default="")
# Serve the admin's CSS/JS from the apps' static folders (no collectstatic in tests).
WHITENOISE_USE_FINDERS = True
# Several gunicorn workers share login throttling and cached pages, as in production.
CACHES = cache_settings("")
# Several gunicorn workers share uploads (an import's file), so they live on disk.
STORAGES = {**STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
# The journeys read the emails the server sends (sign-up codes, invitation links) from disk.
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / ".local" / "browser-mail"))
