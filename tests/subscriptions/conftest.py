"""Sign-up form fixtures: a public double-opt-in list, a form offering it, and helpers
that post the hosted form the way a browser with the ALTCHA widget does."""

import base64
import json
import pydoc
import re
from html import unescape

import altcha
import pytest
from django.db import connection
from django_q.models import OrmQ
from django_q.signing import SignedPackage
from django_tenants.test.client import TenantClient
from django_tenants.utils import schema_context

from engagex.contacts.models import ContactGroup
from engagex.subscriptions.models import SignupForm
from engagex.subscriptions.services.forms import signup_form_save


@pytest.fixture(autouse=True)
def _cheap_proof_of_work(settings):
    """The widget's work, done here in Python, kept to a few key derivations."""
    settings.SIGNUP_ALTCHA_COST = 1
    settings.SIGNUP_ALTCHA_COUNTER = (1, 4)
    settings.SIGNUP_MIN_FILL_SECONDS = 0


def make_form(*, opt_in=ContactGroup.OptIn.DOUBLE, name="News", **fields) -> SignupForm:
    group = ContactGroup.objects.create(
        name=name, visibility=ContactGroup.Visibility.PUBLIC, opt_in=opt_in
    )
    form = SignupForm(
        name=f"{name} form",
        consent_text="Yes, send me the newsletter.",
        first_name="optional",
        **fields,
    )
    return signup_form_save(form=form, groups=[group])


@pytest.fixture
def signup_form(tenant):
    with schema_context(tenant.schema_name):
        return make_form()


def human_fields(page_html: str) -> dict:
    """What the page's hidden stamp and a solved ALTCHA widget add to a post."""
    stamp = re.search(r'name="stamp" value="([^"]+)"', page_html).group(1)
    raw = unescape(re.search(r'challenge="([^"]+)"', page_html).group(1))
    challenge = altcha.Challenge.from_dict(json.loads(raw))
    solution = altcha.solve_challenge(challenge)
    return {"stamp": stamp, "altcha": altcha.Payload(challenge, solution).to_base64()}


def sign_up(client, form: SignupForm, **data):
    """GET the hosted page, then post it like a person with a working widget."""
    page = client.get(f"/f/{form.public_id}/")
    post = {"email": "ann@example.com", "consent": "yes", **human_fields(page.content.decode())}
    post.update(data)
    return client.post(f"/f/{form.public_id}/", {k: v for k, v in post.items() if v is not None})


def workspace_client(tenant, **kwargs) -> TenantClient:
    return TenantClient(tenant, **kwargs)


def queued_signup_tasks() -> list[tuple[OrmQ, dict]]:
    """This app's tasks waiting on the ORM broker (others' rows may sit there too)."""
    tasks = [(q, SignedPackage.loads(q.payload)) for q in OrmQ.objects.order_by("id")]
    return [(q, t) for q, t in tasks if t["func"].startswith("engagex.subscriptions.")]


def run_queued_tasks() -> int:
    """Run what this app queued on the ORM broker as a cluster would (no cluster in unit
    tests): each task's on-commit callbacks after it, and the tasks those queue too."""
    ran = 0
    while tasks := queued_signup_tasks():
        for queued, task in tasks:
            start = len(connection.run_on_commit)
            pydoc.locate(task["func"])(*task["args"], **task["kwargs"])
            queued.delete()
            committed = connection.run_on_commit[start:]
            del connection.run_on_commit[start:]
            for _savepoints, callback, _robust in committed:
                callback()
            ran += 1
    return ran


def process_signups(tenant) -> int:
    """What the cluster does with the workspace's waiting sign-ups (the task a post queues
    at commit; tests without a commit queue none, so it runs here either way); return how
    many it took."""
    from engagex.subscriptions.models import PendingSignup
    from engagex.subscriptions.tasks import signups_process_task

    for queued, task in queued_signup_tasks():
        if task["func"].endswith(".signups_process_task"):
            queued.delete()
    with schema_context(tenant.schema_name):
        waiting = PendingSignup.objects.count()
    assert signups_process_task(tenant.schema_name) is True  # nothing left waiting
    with schema_context(tenant.schema_name):
        return waiting - PendingSignup.objects.count()


def confirm_link(body: str) -> str:
    return re.search(r"http://localhost(/c/[^/\s]+/)", body).group(1)


def tampered(payload_b64: str) -> str:
    data = json.loads(base64.b64decode(payload_b64))
    key = data["solution"]["derivedKey"]
    data["solution"]["derivedKey"] = ("1" if key[0] != "1" else "2") + key[1:]
    return base64.b64encode(json.dumps(data).encode()).decode()
