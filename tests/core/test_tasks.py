import pytest
from django.db import connection
from django_q.models import OrmQ, Success
from django_q.tasks import async_task
from django_tenants.utils import schema_context

from devtools.cluster import run_cluster_until
from engagex.accounts.models import User
from engagex.core.tasks import enqueue_tenant_task, tenant_task
from engagex.notifications.models import Notification
from engagex.notifications.tasks import notification_welcome
from tenants.models import Tenant


@tenant_task
def _schema_seen(schema_name):
    return connection.schema_name


def test_tenant_task_runs_inside_the_named_schema(tenant, other_tenant):
    assert _schema_seen(tenant.schema_name) == tenant.schema_name
    assert _schema_seen(other_tenant.schema_name) == other_tenant.schema_name
    assert connection.schema_name == "public"


def test_tenant_task_skips_a_deleted_workspace(db):
    assert _schema_seen("no_such_workspace") is None


def test_enqueue_waits_for_commit(tenant, owner, django_capture_on_commit_callbacks):
    before = OrmQ.objects.count()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        enqueue_tenant_task(notification_welcome, tenant.schema_name, owner.pk)
    assert OrmQ.objects.count() == before
    callbacks[0]()

    assert OrmQ.objects.count() == before + 1


@pytest.mark.cluster
def test_welcome_task_runs_through_a_real_cluster_in_the_right_schema(
    django_db_setup, django_db_blocker
):
    """Queue one welcome task per workspace; a real qcluster runs each in its own schema."""
    with django_db_blocker.unblock():
        tenants = list(Tenant.objects.filter(slug__in=["alpha", "beta"]))
        counts_before = {t.schema_name: _welcome_count(t.schema_name) for t in tenants}
        OrmQ.objects.all().delete()  # only this test's tasks in the queue
        for t in tenants:
            with schema_context(t.schema_name):
                owner = User.objects.get(email__startswith="owner@")
            async_task("engagex.notifications.tasks.notification_welcome", t.schema_name, owner.pk)
        assert OrmQ.objects.count() >= 2
        stderr = run_cluster_until(
            lambda: (
                not OrmQ.objects.exists()
                and all(
                    _welcome_count(t.schema_name) > counts_before[t.schema_name] for t in tenants
                )
            )
        )

        assert not OrmQ.objects.exists(), stderr
        for t in tenants:
            assert _welcome_count(t.schema_name) == counts_before[t.schema_name] + 1
        assert (
            Success.objects.filter(func="engagex.notifications.tasks.notification_welcome").count()
            >= 2
        )
        with schema_context("public"):
            assert not Notification.objects.filter(title="Welcome to EngageX").exists()
        for t in tenants:
            with schema_context(t.schema_name):
                Notification.objects.filter(title="Welcome to EngageX").delete()


def _welcome_count(schema_name):
    with schema_context(schema_name):
        return Notification.objects.filter(title="Welcome to EngageX").count()
