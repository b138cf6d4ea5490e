from django.conf import settings
from django.urls import path

from engagex.email_templates.views import media_asset_file

urlpatterns = [
    path(f"{settings.MEDIA_URL.strip('/')}/<path:name>", media_asset_file, name="media_asset_file"),
]
