from config.database import database_settings
from config.settings.base import *  # noqa: F403
from config.settings.base import BASE_DIR, env

DATABASES = {"default": database_settings(env, BASE_DIR)}

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="dev-insecure-key-do-not-use-in-production")
SITE_SCHEME = env.str("SITE_SCHEME", default="http")
# Links in emails and printed URLs carry the port the server listens on (`PORT=8100 make
# run`), unless SITE_PORT says otherwise (e.g. "" behind a proxy on port 80).
SITE_PORT = env.str("SITE_PORT", default=f":{env.str('PORT', default='8000')}")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", ".localhost", "127.0.0.1"])
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
