"""The project's WSGI application plus `/_empty/`, a view that only answers "ok": the
floor of a request on a workspace's address (gunicorn, the middleware, the workspace's
domain look-up), for bench/signup_forms.py."""

from importlib import import_module

from config.wsgi import application  # sets Django up before the URLconf is imported

__all__ = ["application"]


def _empty(request):
    from django.http import HttpResponse

    return HttpResponse("ok")


def _add_view() -> None:
    from django.urls import path

    import_module("config.urls_tenants").urlpatterns.append(path("_empty/", _empty))


_add_view()
