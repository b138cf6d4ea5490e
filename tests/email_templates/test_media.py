"""The media library: what may be uploaded, where it is served, who sees it."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from django_tenants.test.client import TenantClient
from django_tenants.utils import schema_context

from engagex.accounts.models import User
from engagex.email_templates.models import MediaAsset
from engagex.email_templates.services.media import (
    MEDIA_NOT_IMAGE,
    MEDIA_SVG,
    MEDIA_TOO_BIG,
    MEDIA_TOO_MANY_PIXELS,
)
from tests.email_templates.images import SVG_PLAIN, SVG_WITH_SCRIPT, image_bytes
from tests.fixtures.tenants import logged_in_client


def _url(view, *args):
    return reverse(
        f"admin:email_templates_mediaasset_{view}", args=args, urlconf="config.urls_tenants"
    )


def _upload(client, *files):
    return client.post(
        _url("upload"),
        {"files": [SimpleUploadedFile(name, data, kind) for name, data, kind in files]},
    )


def _count(tenant):
    with schema_context(tenant.schema_name):
        return MediaAsset.objects.count()


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("GIF", "image/gif"), ("WEBP", "image/webp")],
)
def test_each_email_image_format_is_stored_with_its_decoded_type(
    owner_client, tenant, fmt, content_type
):
    # given a file whose name and claimed type say nothing true
    response = _upload(owner_client, ("photo.bin", image_bytes(fmt, size=(30, 20)), "text/plain"))

    assert response.status_code == 200
    with schema_context(tenant.schema_name):
        asset = MediaAsset.objects.get()
        assert (asset.content_type, asset.width, asset.height) == (content_type, 30, 20)
        assert asset.file.name.startswith("alpha/media/")
        assert asset.file.name.endswith("." + {"JPEG": "jpg"}.get(fmt, fmt.lower()))


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("notes.png", b"This is a text file renamed to .png\n" * 10, MEDIA_NOT_IMAGE),
        ("logo.svg", SVG_WITH_SCRIPT, MEDIA_SVG),
        ("drawing.png", SVG_PLAIN, MEDIA_SVG),
        ("cut.png", image_bytes("PNG", size=(200, 200))[:120], MEDIA_NOT_IMAGE),
        ("page.html", b"<html><script>alert(1)</script></html>", MEDIA_NOT_IMAGE),
    ],
)
def test_what_is_not_an_email_image_is_refused_naming_the_file(
    owner_client, tenant, name, data, expected
):
    response = _upload(owner_client, (name, data, "image/png"))

    assert response.status_code == 400
    assert response.json() == {"error": str(expected.format(name=name))}
    assert _count(tenant) == 0


@override_settings(MEDIA_MAX_BYTES=1000)
def test_an_image_over_the_size_limit_is_refused(owner_client, tenant):
    data = image_bytes("PNG", size=(300, 300), color=(1, 2, 3)) + b"\0" * 2000

    response = _upload(owner_client, ("big.png", data, "image/png"))

    assert response.status_code == 400
    assert response.json()["error"] == str(
        MEDIA_TOO_BIG.format(name="big.png", size=f"{len(data):,}", limit="1,000")
    )
    assert _count(tenant) == 0


@override_settings(MEDIA_MAX_PIXELS=10_000)
def test_an_image_with_too_many_pixels_is_refused_before_it_is_decoded(owner_client, tenant):
    response = _upload(owner_client, ("wide.png", image_bytes("PNG", size=(200, 100)), "image/png"))

    assert response.status_code == 400
    assert response.json()["error"] == str(
        MEDIA_TOO_MANY_PIXELS.format(name="wide.png", width=200, height=100, limit="10,000")
    )
    assert _count(tenant) == 0


def test_one_bad_file_among_several_stores_none(owner_client, tenant):
    response = _upload(
        owner_client,
        ("good.png", image_bytes(), "image/png"),
        ("bad.png", b"nope", "image/png"),
    )

    assert response.status_code == 400
    assert "bad.png" in response.json()["error"]
    assert _count(tenant) == 0


def test_no_file_is_a_clear_400(owner_client, tenant):
    response = owner_client.post(_url("upload"), {})

    assert response.status_code == 400
    assert response.json() == {"error": "Choose one or more images to upload."}


def test_an_uploaded_image_is_served_on_its_workspace_domain(owner_client, tenant):
    src = _upload(owner_client, ("a.png", image_bytes(), "image/png")).json()["data"][0]["src"]
    path = src.removeprefix("http://alpha.localhost")

    response = TenantClient(tenant).get(path)  # mail clients are not logged in

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == image_bytes()


def test_an_asset_of_one_workspace_is_neither_listed_nor_served_in_another(
    owner_client, tenant, other_tenant
):
    src = _upload(owner_client, ("a.png", image_bytes(), "image/png")).json()["data"][0]["src"]
    path = src.removeprefix("http://alpha.localhost")
    with schema_context(other_tenant.schema_name):
        other_owner = User.objects.filter(is_active=True).order_by("pk").first()
    other = logged_in_client(other_tenant, other_owner)

    served = TenantClient(other_tenant).get(path)
    library = other.get(_url("library")).json()
    listed = other.get(_url("changelist")).content.decode()

    assert served.status_code == 404
    assert library == {"data": []}
    assert "a.png" not in listed
    assert _count(tenant) == 1
    assert _count(other_tenant) == 0


def test_the_library_lists_thumbnails_dimensions_and_size(owner_client):
    _upload(owner_client, ("hero.png", image_bytes(size=(64, 32)), "image/png"))

    page = owner_client.get(_url("changelist")).content.decode()

    assert "hero.png" in page
    assert "64 × 32 px" in page
    assert '<img src="/media/alpha/media/' in page


def test_deleting_an_image_removes_its_row_and_file(
    owner_client, tenant, django_capture_on_commit_callbacks
):
    _upload(owner_client, ("a.png", image_bytes(), "image/png"))
    with schema_context(tenant.schema_name):
        asset = MediaAsset.objects.get()
        storage, name = asset.file.storage, asset.file.name

    with django_capture_on_commit_callbacks(execute=True):  # the file goes after the commit
        response = owner_client.post(_url("delete", asset.pk), {"post": "yes"})

    assert response.status_code == 302
    assert _count(tenant) == 0
    assert not storage.exists(name)


def test_the_upload_endpoint_takes_only_post(owner_client):
    assert owner_client.get(_url("upload")).status_code == 405


def test_media_goes_to_s3_when_a_bucket_is_configured():
    import os
    import subprocess
    import sys

    code = (
        "import json; from config.settings import base; print(json.dumps(base.STORAGES['default']))"
    )
    env = {**os.environ, "MEDIA_S3_BUCKET": "engagex-media", "AWS_S3_ENDPOINT_URL": "http://s3"}

    found = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )

    import json

    storage = json.loads(found.stdout.strip().splitlines()[-1])
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert storage["OPTIONS"]["bucket_name"] == "engagex-media"
    assert storage["OPTIONS"]["endpoint_url"] == "http://s3"
    assert storage["OPTIONS"]["querystring_auth"] is False  # image links must not expire
