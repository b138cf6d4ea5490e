"""No Docker engine runs here: check the deployment files' structure instead."""

import os
import subprocess
import sys
from pathlib import Path

import yaml
from django.core.management import call_command
from django.utils import timezone
from django_tenants.utils import schema_context

from engagex.campaigns.models import ContactEngagement
from engagex.contacts.models import Contact
from engagex.platform.provisioning import tenant_create
from tests.factories.campaigns import CampaignRecipientFactory
from tests.factories.contacts import ContactFactory, ContactGroupFactory

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_db_redis_release_web_and_worker():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())

    assert set(compose["services"]) == {"db", "redis", "release", "web", "worker"}
    assert compose["services"]["worker"]["command"] == "python manage.py qcluster"
    assert compose["services"]["web"]["ports"] == ["8000:8000"]


def test_dockerfile_runs_as_a_non_root_user_with_the_lock():
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert "FROM python:3.11-slim" in dockerfile
    assert "pip install -r requirements.lock" in dockerfile
    assert "\nUSER engagex\n" in dockerfile


def test_the_image_leaves_the_fakes_out_and_production_starts_without_them():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    # Production settings, the WSGI app, both URLconfs (every admin) and the system checks,
    # with `devtools` unimportable as in the image.
    start = (
        "import sys; sys.modules['devtools'] = None\n"
        "import django; django.setup()\n"
        "import config.wsgi, config.urls_public, config.urls_tenants\n"
        "from django.core.management import call_command; call_command('check')\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DATABASE_URL": "postgres://localhost/engagex",
        "ANYMAIL_WEBHOOK_SECRET": "check:only",
        "SECRET_KEY": "check-only-not-a-real-secret-value-0123456789abcdefghijklmnopqrstuvwxyz",
    }
    started = subprocess.run(
        [sys.executable, "-c", start], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert "devtools" in ignored
    assert started.returncode == 0, started.stderr[-2000:]


def test_procfile_has_release_web_and_worker():
    kinds = {line.split(":", 1)[0] for line in (ROOT / "Procfile").read_text().splitlines() if line}

    assert kinds == {"release", "web", "worker"}


def test_dump_and_load_a_workspace(tenant, tmp_path):
    with schema_context(tenant.schema_name):
        group = ContactGroupFactory(name="Dumped")
        dumped = ContactFactory(email="dumped@example.com")
        dumped.groups.add(group)
        opened_at = timezone.now().replace(microsecond=123000)  # JSON keeps milliseconds
        CampaignRecipientFactory(contact=dumped, opened_at=opened_at)
    target = tenant_create(name="Copy", slug="copy-ws", owner_email="o@copy.example").tenant
    fixture = tmp_path / "alpha.json"

    call_command("dump_workspace", slug="alpha", output=str(fixture))
    with schema_context(target.schema_name):
        from engagex.accounts.models import User

        User.objects.all().delete()  # the fixture brings alpha's members
    call_command("load_workspace", slug="copy-ws", input=str(fixture))

    with schema_context(target.schema_name):
        copied = Contact.objects.get(email="dumped@example.com")
        assert list(copied.groups.values_list("name", flat=True)) == ["Dumped"]
        # The engagement summary is not in the fixture: the loaded recipients rebuild it.
        assert list(ContactEngagement.objects.values_list("contact_id", "open_times")) == [
            (copied.pk, [opened_at])
        ]
