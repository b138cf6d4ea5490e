"""`PORT=8100 make run`: every link EngageX prints or emails carries the port it listens on."""

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client

from engagex.platform.provisioning import tenant_create

ROOT = Path(__file__).resolve().parents[2]
# Never reached: the development settings only build the connection settings from it, so
# reading them starts no embedded PostgreSQL.
UNUSED_DATABASE = "postgres://nobody@127.0.0.1:1/unused"
PRINT_LINKS = (
    "import django; django.setup()\n"
    "from django.conf import settings\n"
    "from tenants.selectors import platform_url\n"
    "print(repr(settings.SITE_PORT)); print(platform_url('/signup/'))\n"
)


def _development_settings(**env) -> tuple[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PORT", "SITE_PORT", "SITE_SCHEME", "BASE_DOMAIN", "DJANGO_SETTINGS_MODULE"}
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="config.settings.development", DATABASE_URL=UNUSED_DATABASE, **env
    )
    done = subprocess.run(
        [sys.executable, "-c", PRINT_LINKS],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    site_port, link = done.stdout.split("\n")[:2]
    return site_port, link


def test_site_port_follows_port_in_development():
    site_port, link = _development_settings(PORT="8100")

    assert site_port == "':8100'"
    assert link == "http://localhost:8100/signup/"


def test_an_explicit_site_port_wins_over_port():
    assert _development_settings(PORT="8100", SITE_PORT=":9000") == (
        "':9000'",
        "http://localhost:9000/signup/",
    )
    # Behind a proxy on port 80/443 the links carry no port at all.
    assert _development_settings(PORT="8100", SITE_PORT="") == ("''", "http://localhost/signup/")


def test_without_port_development_links_use_8000():
    assert _development_settings() == ("':8000'", "http://localhost:8000/signup/")


@pytest.mark.parametrize(
    ("given", "expected"), [({"PORT": "8100"}, "8100"), ({}, "8000")], ids=["port-set", "default"]
)
def test_make_passes_port_to_every_command_it_runs(given, expected):
    # `make run` runs load_demo (the printed URLs) and then bin/run with $(PORT): each
    # command must see the same PORT in its environment, or SITE_PORT falls back to 8000.
    environment = {k: v for k, v in os.environ.items() if k not in {"PORT", "MAKEFLAGS"}}
    done = subprocess.run(
        ["make", "-s", "--eval", "print-port: ; @echo $$PORT", "print-port"],
        cwd=ROOT,
        env={**environment, **given},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert done.stdout.strip() == expected


def test_bin_run_hands_its_port_to_the_server_and_the_cluster():
    script = (ROOT / "bin" / "run").read_text()

    assert 'export PORT="$port"' in script
    assert script.index('export PORT="$port"') < script.index("manage.py qcluster")


def test_printed_emailed_and_sign_up_links_carry_site_port(
    db, settings, django_capture_on_commit_callbacks
):
    # What development settings give for `PORT=8100` (checked above).
    settings.SITE_PORT = ":8100"

    printed = io.StringIO()
    call_command("load_demo", "--force", stdout=printed)
    with django_capture_on_commit_callbacks(execute=True):
        invited = tenant_create(name="Port Co", slug="port-co", owner_email="boss@port.example")
    client = Client(HTTP_HOST="localhost")
    client.post(
        "/signup/",
        {
            "name": "Ported",
            "slug": "ported",
            "full_name": "Pat Port",
            "email": "pat@ported.example",
            "password": "Ported-signup-2026",
        },
    )
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    redirected = client.post("/signup/verify/", {"code": code})

    assert "Platform admin:  http://localhost:8100/admin/" in printed.getvalue()
    assert "Demo workspace:  http://demo.localhost:8100/admin/" in printed.getvalue()
    invitation = next(m for m in mail.outbox if m.to == ["boss@port.example"])
    assert invited.set_password_url.startswith("http://port-co.localhost:8100/accounts/")
    assert invited.set_password_url in invitation.body
    assert "http://port-co.localhost:8100/admin/" in invitation.body
    assert redirected.status_code == 302
    assert redirected["Location"].startswith("http://ported.localhost:8100/accounts/token-login/")
