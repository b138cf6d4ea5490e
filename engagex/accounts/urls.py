from django.urls import path

from engagex.accounts.views import SetPasswordDoneView, SetPasswordView


def urlpatterns_for(admin_site):
    """The account pages, branded like `admin_site` (each console has its own)."""
    return [
        path(
            "accounts/set-password/<uidb64>/<token>/",
            SetPasswordView.as_view(admin_site=admin_site),
            name="set_password",
        ),
        path(
            "accounts/set-password/done/",
            SetPasswordDoneView.as_view(admin_site=admin_site),
            name="set_password_done",
        ),
    ]
