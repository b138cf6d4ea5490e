"""Public pages of sign-up and consent.

`workspace_urlpatterns`: on the workspace's own domain (hosted forms and their endpoints).
`public_urlpatterns`: on the platform domain, beside /u/ (links in emails, whose signed
tokens name the workspace: confirmation, preference centre).
"""

from django.urls import path

from engagex.subscriptions import preferences_views

workspace_urlpatterns: list = []
public_urlpatterns: list = []

# --- Preference centre: the {{ preferences_url }} of campaigns (platform domain) ----------
public_urlpatterns += [
    path("p/<str:token>/", preferences_views.preferences, name="preferences"),
    path("p/<str:token>/data/", preferences_views.preferences_data, name="preferences_data"),
    path("p/<str:token>/erase/", preferences_views.preferences_erase, name="preferences_erase"),
]
