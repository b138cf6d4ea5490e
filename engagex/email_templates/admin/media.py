from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, JsonResponse
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from unfold.admin import ModelAdmin

from engagex.core.formats import number
from engagex.core.sites import workspace_site
from engagex.email_templates.models import MediaAsset
from engagex.email_templates.selectors import (
    media_asset_json,
    media_asset_list,
    media_asset_url,
)
from engagex.email_templates.services.media import media_delete, media_upload

LIBRARY_PAGE = 200


class MediaAssetAdmin(ModelAdmin):
    """The workspace's images: uploaded from the editor (or here), listed, deleted."""

    list_display = ["thumbnail", "name", "dimensions", "size", "uploaded_by", "created_at"]
    list_display_links = ["thumbnail", "name"]
    search_fields = ["name"]
    list_select_related = ["uploaded_by"]
    readonly_fields = [
        "preview",
        "name",
        "content_type",
        "dimensions",
        "size",
        "url",
        "uploaded_by",
        "created_at",
    ]
    fields = readonly_fields
    actions = ["delete_selected_assets"]
    change_list_template = "admin/email_templates/mediaasset/change_list.html"

    def get_queryset(self, request):
        return media_asset_list()

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # ours deletes the files too
        return actions

    def has_add_permission(self, request):
        # Images arrive through the upload endpoint (the editor, or this list's upload box).
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_upload_permission(self, request) -> bool:
        return request.user.has_perm("email_templates.add_mediaasset")

    def get_urls(self):
        return [
            path(
                "upload/",
                self.admin_site.admin_view(self.upload_view),
                name="email_templates_mediaasset_upload",
            ),
            path(
                "library/",
                self.admin_site.admin_view(self.library_view),
                name="email_templates_mediaasset_library",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra = {"can_upload": self.has_upload_permission(request), **(extra_context or {})}
        return super().changelist_view(request, extra)

    # --- display --------------------------------------------------------------------------
    @admin.display(description=_("Image"))
    def thumbnail(self, obj):
        return format_html(
            '<img src="{}" alt="{}" loading="lazy" style="max-width:96px;max-height:64px">',
            obj.file.url,
            obj.name,
        )

    @admin.display(description=_("Preview"))
    def preview(self, obj):
        return format_html(
            '<img src="{}" alt="{}" style="max-width:100%;max-height:480px">',
            obj.file.url,
            obj.name,
        )

    @admin.display(description=_("Dimensions"))
    def dimensions(self, obj):
        return f"{number(obj.width)} × {number(obj.height)} px"

    @admin.display(description=_("Size"), ordering="bytes")
    def size(self, obj):
        if obj.bytes >= 1024 * 1024:
            return f"{obj.bytes / 1024 / 1024:.1f} MB"
        return f"{number(max(1, round(obj.bytes / 1024)))} KB"

    @admin.display(description=_("URL"))
    def url(self, obj):
        return media_asset_url(obj)

    # --- delete ---------------------------------------------------------------------------
    def delete_model(self, request, obj):
        media_delete(asset=obj)

    def delete_queryset(self, request, queryset):
        for asset in queryset:
            media_delete(asset=asset)

    @admin.action(description=_("Delete selected images"), permissions=["delete"])
    def delete_selected_assets(self, request, queryset):
        count = 0
        for asset in queryset:
            media_delete(asset=asset)
            count += 1
        self.message_user(
            request,
            ngettext("%d image deleted.", "%d images deleted.", count) % count,
            messages.SUCCESS,
        )

    # --- the editor's endpoints -----------------------------------------------------------
    def upload_view(self, request):
        """POST multipart `files`: {"data": [asset…]} (GrapesJS's asset manager) or 400."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_upload_permission(request):
            raise PermissionDenied
        try:
            assets = media_upload(files=request.FILES.getlist("files"), user=request.user)
        except ValidationError as error:
            return JsonResponse({"error": " ".join(error.messages)}, status=400)
        return JsonResponse({"data": [media_asset_json(asset, request) for asset in assets]})

    def library_view(self, request):
        """GET: the newest images as {"data": [asset…]}."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        assets = media_asset_list()[:LIBRARY_PAGE]
        return JsonResponse({"data": [media_asset_json(asset, request) for asset in assets]})


workspace_site.register(MediaAsset, MediaAssetAdmin)
