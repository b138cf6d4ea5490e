"""Run a real `manage.py qcluster` against the test database until a condition holds."""

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from django.db import connection
from django_tenants.utils import schema_context

from engagex.campaigns.models import Campaign, CampaignRecipient
from engagex.campaigns.services.campaigns import campaign_start
from tests.factories.campaigns import CampaignFactory
from tests.factories.contacts import ContactFactory

ROOT = Path(__file__).resolve().parents[1]


def start_cluster(env: dict | None = None) -> subprocess.Popen:
    """Start `manage.py qcluster` on the test database (plus `env`)."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "ENGAGEX_TEST_DATABASE_NAME": connection.settings_dict["NAME"],
            **(env or {}),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, so stopping it stops every worker
    )


def stop_cluster(cluster: subprocess.Popen) -> bytes:
    """Stop the cluster, wait for every process it forked to exit; return its stderr."""
    cluster.terminate()  # the master shuts its workers down
    try:
        _, stderr = cluster.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(cluster.pid, signal.SIGKILL)
        _, stderr = cluster.communicate(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _group_alive(cluster.pid):
        time.sleep(0.1)
    if _group_alive(cluster.pid):
        os.killpg(cluster.pid, signal.SIGKILL)  # stragglers must not keep database sessions
    return stderr or b""


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for(done, clusters: list[subprocess.Popen], *, timeout: float = 60) -> str:
    """Poll `done()` until true or `timeout`; stop the clusters and return their stderr."""
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not done():
            time.sleep(0.2)
    finally:
        errors = [stop_cluster(cluster) for cluster in clusters]
    return b"\n".join(errors).decode()[-2000:]


def run_cluster_until(done, *, env: dict | None = None, timeout: float = 60) -> str:
    """Start a cluster, poll `done()` until it is true or `timeout` passes; return its stderr."""
    return wait_for(done, [start_cluster(env)], timeout=timeout)


@contextmanager
def committed_campaign(tenant, recipients: int, label: str):
    """A started campaign to `recipients` new contacts of `tenant`, committed so that cluster
    processes see it; removed afterwards, also when the test fails."""
    with schema_context(tenant.schema_name):
        contacts = [ContactFactory(email=f"{label}{i}@{label}.example") for i in range(recipients)]
        campaign = CampaignFactory()
        campaign_start(campaign_id=campaign.pk)
    try:
        yield campaign
    finally:
        with schema_context(tenant.schema_name):
            CampaignRecipient.objects.filter(campaign=campaign).delete()
            campaign.delete()
            for contact in contacts:
                contact.delete()


def campaign_finished(tenant, campaign) -> bool:
    """True once the campaign has left "sending" (sent, failed, paused or cancelled)."""
    with schema_context(tenant.schema_name):
        campaign.refresh_from_db()
        return campaign.status != Campaign.Status.SENDING


def sent_count(tenant, campaign) -> int:
    with schema_context(tenant.schema_name):
        return CampaignRecipient.objects.filter(campaign=campaign, status="sent").count()
