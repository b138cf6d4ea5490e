from django.http import Http404
from django.urls import include, path

from engagex.accounts import views


def urlpatterns_for(admin_site):
    """The account pages, branded like `admin_site` (each console has its own)."""
    return [
        path(
            "accounts/set-password/<uidb64>/<token>/",
            views.SetPasswordView.as_view(admin_site=admin_site),
            name="set_password",
        ),
        path(
            "accounts/set-password/done/",
            views.SetPasswordDoneView.as_view(admin_site=admin_site),
            name="set_password_done",
        ),
        # allauth's address management would let a member attach an unverified address
        # (which SSO could then log into); a member's email is changed on the Team page.
        path("accounts/email/", _not_offered, name="account_email_not_offered"),
        path("accounts/", include("allauth.urls")),
    ]


def _not_offered(request):
    raise Http404("Email addresses are managed on the Team page.")


# Workspace domains only: arrive logged in after sign-up, accept an invitation.
workspace_urlpatterns = [
    path("accounts/token-login/<str:token>/", views.login_with_token, name="login_token"),
    path("invitations/<str:token>/", views.invitation_accept_view, name="invitation_accept"),
]
