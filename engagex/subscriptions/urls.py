"""Public pages of sign-up and consent.

`workspace_urlpatterns`: on the workspace's own domain (hosted forms and their endpoints).
`public_urlpatterns`: on the platform domain, beside /u/ (links in emails, whose signed
tokens name the workspace: confirmation, preference centre).
"""

from django.urls import path

from engagex.subscriptions import signup_views

workspace_urlpatterns: list = []
public_urlpatterns: list = []

# --- sign-up forms and double opt-in (wt/signup) -------------------------------------------
workspace_urlpatterns += [
    path("f/<str:public_id>/", signup_views.signup_form_page, name="signup_form"),
    path("f/<str:public_id>/json/", signup_views.signup_form_json, name="signup_form_json"),
]
public_urlpatterns += [
    path("c/<str:token>/", signup_views.confirm, name="signup_confirm"),
]
# --- end sign-up forms ----------------------------------------------------------------------
