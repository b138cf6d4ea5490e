"""Public pages of sign-up and consent.

`workspace_urlpatterns`: on the workspace's own domain (hosted forms and their endpoints).
`public_urlpatterns`: on the platform domain, beside /u/ (links in emails, whose signed
tokens name the workspace: confirmation, preference centre).
"""

workspace_urlpatterns: list = []
public_urlpatterns: list = []
