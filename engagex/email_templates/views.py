"""The media library's files, served on the workspace's own domain.

Mail clients fetch images without logging in, so the files are public, but only where
they belong: a path is served when this workspace's media library has that file, so an
image of another workspace is a 404 here even though its path is under /media/. With S3
storage (MEDIA_S3_BUCKET) the bucket serves the files and this view is not used.
"""

from django.http import FileResponse, Http404
from django.views.decorators.http import require_safe

from engagex.email_templates.models import MediaAsset

CACHE_SECONDS = 7 * 24 * 3600  # stored names never change (each upload gets a new one)


@require_safe
def media_asset_file(request, name: str):
    asset = MediaAsset.objects.filter(file=name).first()
    if asset is None:
        raise Http404
    try:
        handle = asset.file.open("rb")
    except FileNotFoundError as error:
        raise Http404 from error
    response = FileResponse(handle, content_type=asset.content_type)
    response["Cache-Control"] = f"public, max-age={CACHE_SECONDS}, immutable"
    return response
