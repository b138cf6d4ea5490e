"""Content-Security-Policy, one policy per surface (django-csp 4; Django 5.2 has none built in).

engagex.core.csp.ContentSecurityPolicyMiddleware picks the policy by path (CSP_SURFACES, first
prefix that matches); everything else is the console. A view that sets its own header keeps it
(the web version of a campaign, `/v/…`, sends a stricter one).
"""

from csp.constants import NONCE, NONE, SELF, UNSAFE_EVAL, UNSAFE_INLINE

# Every HTML page: no plugins, no <base> tricks, never inside someone else's frame.
_PAGE = {"object-src": [NONE], "base-uri": [NONE], "frame-ancestors": [NONE]}

# The console: both admin sites and every page in their look (login, MFA, sign-up, invitations,
# set-password). unfold bundles the standard Alpine.js build, which evaluates its x-data/x-init
# attributes with `new AsyncFunction`: without 'unsafe-eval' menus, tabs and filters are dead
# (unfold issues #434, #1344, #2129). Scripts otherwise load only from our own static files or
# carry the request's nonce; no 'unsafe-inline' for scripts. Styles allow inline: unfold writes
# its theme colours in a <style> block and Tailwind/Chart.js use style attributes.
CSP_CONSOLE = {
    **_PAGE,
    "default-src": [SELF],
    "script-src": [SELF, NONCE, UNSAFE_EVAL],
    "style-src": [SELF, UNSAFE_INLINE],
    # Email previews (sandboxed srcdoc iframes inherit this policy) show the email's own images.
    "img-src": [SELF, "data:", "https:"],
    "font-src": [SELF, "data:"],
    "connect-src": [SELF],
    "frame-src": [SELF],
}

# Pages a contact's mail client opens (unsubscribe): no script at all, one inline <style>.
CSP_PUBLIC = {
    **_PAGE,
    "default-src": [NONE],
    "style-src": [UNSAFE_INLINE],
    "img-src": [SELF, "data:"],
    "form-action": [SELF],
}

# Sign-up forms on a workspace's domain (/f/…): the public page's policy, plus our own static
# files for the ALTCHA widget (a module script, its PBKDF2 worker and its stylesheet). No
# inline script, no eval, no third party. A form that redirects after sign-up adds that one
# origin to form-action on its own pages (engagex.subscriptions.signup_views).
CSP_SIGNUP = {
    **CSP_PUBLIC,
    "script-src": [SELF],
    "worker-src": [SELF],
    "style-src": [SELF, UNSAFE_INLINE],
}

# Swagger UI (drf-spectacular-sidecar, served locally; its start-up script is a file of its own).
CSP_API_DOCS = {
    **_PAGE,
    "default-src": [SELF],
    "script-src": [SELF],
    "style-src": [SELF, UNSAFE_INLINE],
    "img-src": [SELF, "data:"],
    "connect-src": [SELF],
}

# JSON, webhooks and health checks: nothing in them is ever rendered as a page.
CSP_NONE = {
    "default-src": [NONE],
    "frame-ancestors": [NONE],
    "base-uri": [NONE],
    "form-action": [NONE],
}

CSP_SURFACES = [
    ("/api/v1/docs/", CSP_API_DOCS),
    ("/api/", CSP_NONE),
    ("/anymail/", CSP_NONE),
    ("/billing/stripe/webhook/", CSP_NONE),
    ("/healthz", CSP_NONE),
    ("/media/", CSP_NONE),  # the media library's images: never a page
    ("/u/", CSP_PUBLIC),
    ("/c/", CSP_PUBLIC),  # double opt-in confirmation links
    ("/f/", CSP_SIGNUP),  # sign-up forms (hosted page, snippet target, JSON endpoint)
    ("/v/", CSP_PUBLIC),  # only the "invalid link" page: the web version sends its own
    ("/p/", CSP_PUBLIC),  # the preference centre: forms, no script
]
CONTENT_SECURITY_POLICY = {"DIRECTIVES": CSP_CONSOLE}
