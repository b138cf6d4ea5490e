"""Public pages of sign-up and consent.

`workspace_urlpatterns`: on the workspace's own domain (hosted forms and their endpoints).
`public_urlpatterns`: on the platform domain, beside /u/ (links in emails, whose signed
tokens name the workspace: confirmation, preference centre).
"""

from django.urls import path

from engagex.subscriptions import preferences_views, signup_views

# Sign-up forms: the hosted page (also where the HTML snippet posts) and the JSON endpoint.
workspace_urlpatterns = [
    path("f/<str:public_id>/", signup_views.signup_form_page, name="signup_form"),
    path("f/<str:public_id>/json/", signup_views.signup_form_json, name="signup_form_json"),
]
public_urlpatterns = [
    # Double opt-in confirmation links.
    path("c/<str:token>/", signup_views.confirm, name="signup_confirm"),
    # The preference centre: the {{ preferences_url }} of campaigns.
    path("p/<str:token>/", preferences_views.preferences, name="preferences"),
    path("p/<str:token>/data/", preferences_views.preferences_data, name="preferences_data"),
    path("p/<str:token>/erase/", preferences_views.preferences_erase, name="preferences_erase"),
]
