"""Django REST framework and drf-spectacular (the JSON API under /api/v1/)."""

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "engagex.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["engagex.api.permissions.RolePermissions"],
    "DEFAULT_PAGINATION_CLASS": "engagex.api.pagination.IdCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "engagex.api.exceptions.error_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "engagex.api.parsers.JSONParser",  # DRF's, refusing bodies nested too deep
        "rest_framework.parsers.MultiPartParser",
    ],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "EngageX API",
    "DESCRIPTION": (
        "The workspace API, served on each workspace's own domain. Authenticate with "
        "`Authorization: Bearer <API key>` (keys are created under Settings → API keys)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ContactStatusEnum": "engagex.contacts.models.ContactStatus",
        "CampaignStatusEnum": "engagex.campaigns.models.Campaign.Status",
        "ImportStatusEnum": "engagex.contacts.models.ImportJob.Status",
        "DomainStatusEnum": "engagex.domains.models.SendingDomain.Status",
        "EventTypeEnum": "engagex.analytics.models.EmailEvent.Type",
    },
}
