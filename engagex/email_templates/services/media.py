"""The workspace's media library: images for the editor and the emails it builds.

What a file is, is decided by decoding it with Pillow, never by its name or the type the
browser claims: a script renamed .png, or an SVG (which can carry script and is not
displayed by most mail clients), is refused. Pillow's decompression-bomb guard is a
warning by default; here an image past `MEDIA_MAX_PIXELS` is refused before it is decoded.
"""

import io
import logging
import os
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.text import get_valid_filename
from django.utils.translation import gettext_lazy
from PIL import Image, UnidentifiedImageError

from engagex.core.formats import number
from engagex.email_templates.models import MediaAsset

logger = logging.getLogger(__name__)

# Pillow format → (content type, file extension): what mail clients display.
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "GIF": ("image/gif", "gif"),
    "WEBP": ("image/webp", "webp"),
}
MEDIA_FILES_MAX = 20

MEDIA_NO_FILE = gettext_lazy("Choose one or more images to upload.")
MEDIA_TOO_MANY = gettext_lazy("Upload at most {limit} images at a time; you chose {count}.")
MEDIA_TOO_BIG = gettext_lazy(
    "“{name}” is {size} bytes; images may be at most {limit} bytes. Make it smaller and "
    "upload it again."
)
MEDIA_EMPTY = gettext_lazy("“{name}” is empty.")
MEDIA_NOT_IMAGE = gettext_lazy(
    "“{name}” is not an image EngageX can use: upload a JPEG, PNG, GIF or WebP file."
)
MEDIA_SVG = gettext_lazy(
    "“{name}” is an SVG drawing: SVG can carry scripts and most mail clients do not show "
    "it. Upload a PNG or JPEG instead."
)
MEDIA_TOO_MANY_PIXELS = gettext_lazy(
    "“{name}” is {width} × {height} pixels; images may have at most {limit} pixels."
)


def media_max_bytes() -> int:
    return settings.MEDIA_MAX_BYTES


def media_max_pixels() -> int:
    return settings.MEDIA_MAX_PIXELS


def _looks_like_svg(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<?xml", b"<svg", b"<!doctype svg")) and b"<svg" in head.lower()


def media_inspect(*, name: str, data: bytes) -> tuple[str, str, int, int]:
    """(content type, extension, width, height) of an image; ValidationError naming the file."""
    if not data:
        raise ValidationError(MEDIA_EMPTY.format(name=name))
    limit = media_max_bytes()
    if len(data) > limit:
        raise ValidationError(
            MEDIA_TOO_BIG.format(name=name, size=number(len(data)), limit=number(limit))
        )
    if _looks_like_svg(data[:2048]):
        raise ValidationError(MEDIA_SVG.format(name=name))
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            width, height = image.size
            if kind not in FORMATS:
                raise ValidationError(MEDIA_NOT_IMAGE.format(name=name))
            if width * height > media_max_pixels():
                raise ValidationError(
                    MEDIA_TOO_MANY_PIXELS.format(
                        name=name,
                        width=number(width),
                        height=number(height),
                        limit=number(media_max_pixels()),
                    )
                )
            image.verify()  # reads the whole file: a truncated or corrupt one fails here
    except ValidationError:
        raise
    # Pillow's plugins raise these on files that only look like images.
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as error:  # noqa: E501
        raise ValidationError(MEDIA_NOT_IMAGE.format(name=name)) from error
    content_type, extension = FORMATS[kind]
    return content_type, extension, width, height


def _stored_name(name: str, extension: str) -> str:
    stem = get_valid_filename(os.path.splitext(os.path.basename(name))[0])[:60] or "image"
    # The name in the URL says nothing about the others; the extension is the decoded type's.
    return f"{stem}-{uuid.uuid4().hex[:12]}.{extension}"


@transaction.atomic
def media_upload(*, files: list, user) -> list[MediaAsset]:
    """Store images in the media library; all or none (a refusal names the file).

    `files` are Django UploadedFile objects (or anything with `name` and `read()`).
    """
    if not files:
        raise ValidationError(MEDIA_NO_FILE)
    if len(files) > MEDIA_FILES_MAX:
        raise ValidationError(MEDIA_TOO_MANY.format(limit=MEDIA_FILES_MAX, count=len(files)))
    checked = []
    limit = media_max_bytes()
    for upload in files:
        name = os.path.basename(getattr(upload, "name", "") or "image")
        size = getattr(upload, "size", None)
        if size is not None and size > limit:  # refused before it is read into memory
            raise ValidationError(
                MEDIA_TOO_BIG.format(name=name, size=number(size), limit=number(limit))
            )
        data = upload.read(limit + 1)
        content_type, extension, width, height = media_inspect(name=name, data=data)
        checked.append((name, data, content_type, extension, width, height))
    assets: list[MediaAsset] = []
    try:
        for name, data, content_type, extension, width, height in checked:
            asset = MediaAsset(
                name=name[:255],
                content_type=content_type,
                bytes=len(data),
                width=width,
                height=height,
                uploaded_by=user,
            )
            asset.file.save(_stored_name(name, extension), ContentFile(data), save=False)
            assets.append(asset)
            asset.save()
    except Exception:
        for written in assets:  # the rows roll back; their files must not stay behind
            written.file.storage.delete(written.file.name)
        raise
    logger.info(
        "%d image(s) uploaded to the media library by user %s",
        len(assets),
        getattr(user, "pk", None),
    )
    return assets


def media_delete(*, asset: MediaAsset) -> None:
    """Delete an image and its file (emails already sent with it lose the image)."""
    storage, name = asset.file.storage, asset.file.name
    asset.delete()
    transaction.on_commit(lambda: storage.delete(name))
