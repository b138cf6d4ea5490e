"""django-csp's middleware with one policy per surface (config/settings/csp.py)."""

from csp.middleware import CSPMiddleware, PolicyParts
from csp.utils import default_config
from django.conf import settings


def policy_for(path: str) -> dict:
    """The CSP directives for a request path: the first CSP_SURFACES prefix, else the console."""
    for prefix, directives in settings.CSP_SURFACES:
        if path.startswith(prefix):
            return directives
    return settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only=report_only)
        if not report_only and parts.config is None:  # no @csp_override on the view
            parts.config = default_config(policy_for(request.path_info))
        return parts
