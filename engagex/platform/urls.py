from django.urls import path

from engagex.platform import views

# The public domain only: a new organisation creates its workspace.
signup_urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("signup/verify/", views.signup_verify_view, name="signup_verify"),
    path("signup/check/", views.signup_slug_check, name="signup_slug_check"),
]
