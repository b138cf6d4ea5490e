"""The hosted sign-up form, the snippet's post, the JSON endpoint and their guards."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import schema_context

from engagex.contacts.models import (
    ConsentSource,
    Contact,
    ContactGroup,
    ContactStatus,
    Membership,
    MembershipStatus,
)
from engagex.subscriptions.models import PendingSignup, Signup, SignupCounter, SignupForm
from engagex.subscriptions.services import abuse
from tests.factories.contacts import ContactFactory
from tests.subscriptions.conftest import (
    confirm_link,
    human_fields,
    make_form,
    process_signups,
    queued_signup_tasks,
    run_queued_tasks,
    sign_up,
    tampered,
    workspace_client,
)


def _nothing_written(tenant) -> None:
    with schema_context(tenant.schema_name):
        assert Contact.objects.count() == 0
        assert Membership.objects.count() == 0
        assert Signup.objects.count() == 0
        assert PendingSignup.objects.count() == 0
    assert queued_signup_tasks() == []
    assert mail.outbox == []


def test_hosted_page_shows_the_workspace_fields_consent_and_widget(tenant, signup_form):
    response = workspace_client(tenant).get(f"/f/{signup_form.public_id}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "Alpha Corp" in body
    assert "Yes, send me the newsletter." in body
    assert 'name="email"' in body
    assert 'name="first_name"' in body
    assert "<altcha-widget" in body
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert (
        "unsafe-inline"
        not in response["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    )


def test_double_opt_in_signup_stores_an_unconfirmed_member_and_emails_a_link(
    tenant, signup_form, django_capture_on_commit_callbacks
):
    client = workspace_client(tenant, HTTP_USER_AGENT="Firefox/140")
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_up(client, signup_form, first_name="Ann")

    assert response.status_code == 200
    assert "we have sent you an email" in response.content.decode()
    with schema_context(tenant.schema_name):  # kept for the cluster: nobody is on file yet
        assert not Contact.objects.exists()
        assert PendingSignup.objects.get().email == "ann@example.com"
    with django_capture_on_commit_callbacks(execute=True):
        assert process_signups(tenant) == 1
    with schema_context(tenant.schema_name):
        membership = Membership.objects.select_related("contact").get()
        assert (membership.contact.email, membership.contact.first_name) == (
            "ann@example.com",
            "Ann",
        )
        assert membership.status == MembershipStatus.UNCONFIRMED
        assert membership.source == ConsentSource.FORM
        assert membership.consent_text == "Yes, send me the newsletter."
        assert membership.consent_ip == "127.0.0.1"
        assert membership.consent_user_agent == "Firefox/140"
        assert SignupForm.objects.get().submissions_count == 1
    assert mail.outbox == []  # queued, not sent in the request
    assert run_queued_tasks() == 1  # the confirmation email
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ann@example.com"]
    assert mail.outbox[0].subject == "Please confirm your subscription to News"
    assert confirm_link(mail.outbox[0].body).startswith("/c/")


def test_single_opt_in_signup_subscribes_at_once_without_email(
    tenant, django_capture_on_commit_callbacks
):
    with schema_context(tenant.schema_name):
        form = make_form(opt_in=ContactGroup.OptIn.SINGLE)
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_up(workspace_client(tenant), form)
    assert process_signups(tenant) == 1

    assert "Thank you for signing up." in response.content.decode()
    with schema_context(tenant.schema_name):
        assert Membership.objects.get().status == MembershipStatus.SUBSCRIBED
    assert queued_signup_tasks() == []  # no confirmation email


def test_redirect_url_answers_303(tenant, django_capture_on_commit_callbacks):
    with schema_context(tenant.schema_name):
        form = make_form(redirect_url="https://shop.example/thanks")
    response = sign_up(workspace_client(tenant), form)

    assert response.status_code == 303
    assert response["Location"] == "https://shop.example/thanks"


def test_known_and_unknown_addresses_get_the_same_answer(
    tenant, signup_form, django_capture_on_commit_callbacks
):
    with schema_context(tenant.schema_name):
        ContactFactory(email="known@example.com")
        ContactFactory(email="bounced@example.com", status=ContactStatus.BOUNCED)
    answers = []
    for email in ["known@example.com", "new@example.com", "bounced@example.com"]:
        response = sign_up(workspace_client(tenant), signup_form, email=email)
        answers.append((response.status_code, response.content))
    process_signups(tenant)

    assert answers[0] == answers[1] == answers[2]
    with schema_context(tenant.schema_name):
        assert Membership.objects.filter(contact__email="new@example.com").exists()
        # the bounced contact was not put on the list
        assert not Membership.objects.filter(contact__email="bounced@example.com").exists()


def test_a_form_never_overwrites_a_known_contacts_name(tenant, signup_form):
    with schema_context(tenant.schema_name):
        ContactFactory(email="ann@example.com", first_name="Ann")
    sign_up(workspace_client(tenant), signup_form, first_name="Mallory")
    process_signups(tenant)

    with schema_context(tenant.schema_name):
        assert Contact.objects.get(email="ann@example.com").first_name == "Ann"
        assert Membership.objects.get().contact.email == "ann@example.com"  # it was processed


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("not-an-address", "Enter a valid email address."),
        ("someone@mailinator.com", "throw-away mail"),
        ("someone@eu.yopmail.com", "throw-away mail"),
    ],
)
def test_invalid_or_disposable_address_is_a_field_error_and_nothing_is_written(
    tenant, signup_form, email, message
):
    response = sign_up(workspace_client(tenant), signup_form, email=email)

    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert f'value="{email}"' in body  # what they typed, escaped, to correct
    _nothing_written(tenant)


def test_consent_box_is_required(tenant, signup_form):
    response = sign_up(workspace_client(tenant), signup_form, consent=None)

    assert response.status_code == 400
    assert "Tick the box to agree" in response.content.decode()
    _nothing_written(tenant)


def test_input_is_escaped_on_the_error_page(tenant, signup_form):
    response = sign_up(workspace_client(tenant), signup_form, email="<script>alert(1)</script>")

    body = response.content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_oversized_post_is_413_and_writes_nothing(tenant, signup_form):
    response = workspace_client(tenant).post(
        f"/f/{signup_form.public_id}/", {"email": "a@example.com", "x": "a" * 20_000}
    )

    assert response.status_code == 413
    assert "too much data" in response.content.decode()
    _nothing_written(tenant)


def test_honeypot_gets_the_success_page_and_nothing_is_written(tenant, signup_form):
    response = sign_up(workspace_client(tenant), signup_form, website="http://spam.example")

    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    _nothing_written(tenant)


def test_a_post_without_proof_of_work_gets_the_interstitial_holding_the_values(tenant, signup_form):
    # the static snippet: no stamp, no ALTCHA solution
    response = workspace_client(tenant).post(
        f"/f/{signup_form.public_id}/",
        {"email": "ann@example.com", "first_name": "Ann", "consent": "yes"},
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert "One more step" in body
    assert 'name="email" value="ann@example.com"' in body
    assert 'name="first_name" value="Ann"' in body
    assert "<altcha-widget" in body
    _nothing_written(tenant)


def test_the_interstitial_once_solved_signs_up(tenant, signup_form):
    client = workspace_client(tenant)
    interstitial = client.post(
        f"/f/{signup_form.public_id}/", {"email": "ann@example.com", "consent": "yes"}
    )
    response = client.post(
        f"/f/{signup_form.public_id}/",
        {
            "email": "ann@example.com",
            "consent": "yes",
            **human_fields(interstitial.content.decode()),
        },
    )

    assert "we have sent you an email" in response.content.decode()
    process_signups(tenant)
    with schema_context(tenant.schema_name):
        assert Membership.objects.count() == 1


def test_a_wrong_or_replayed_solution_writes_nothing(tenant, signup_form):
    client = workspace_client(tenant)
    page = client.get(f"/f/{signup_form.public_id}/").content.decode()
    proof = human_fields(page)
    bad = client.post(
        f"/f/{signup_form.public_id}/",
        {"email": "a@example.com", "consent": "yes", **proof, "altcha": tampered(proof["altcha"])},
    )
    assert "One more step" in bad.content.decode()
    _nothing_written(tenant)

    first = client.post(
        f"/f/{signup_form.public_id}/", {"email": "b@example.com", "consent": "yes", **proof}
    )
    replay = client.post(
        f"/f/{signup_form.public_id}/", {"email": "c@example.com", "consent": "yes", **proof}
    )

    assert "Thank you" in first.content.decode()
    assert "One more step" in replay.content.decode()
    process_signups(tenant)
    with schema_context(tenant.schema_name):
        assert list(Contact.objects.values_list("email", flat=True)) == ["b@example.com"]


def test_too_fast_a_post_gets_the_interstitial(tenant, signup_form, settings):
    settings.SIGNUP_MIN_FILL_SECONDS = 30
    response = sign_up(workspace_client(tenant), signup_form)

    assert "One more step" in response.content.decode()
    _nothing_written(tenant)


def test_a_form_whose_list_was_deleted_shows_a_closed_page(tenant, signup_form):
    with schema_context(tenant.schema_name):
        signup_form.groups.all().delete()
    client = workspace_client(tenant)

    page = client.get(f"/f/{signup_form.public_id}/")
    post = client.post(
        f"/f/{signup_form.public_id}/", {"email": "ann@example.com", "consent": "yes"}
    )

    assert page.status_code == post.status_code == 410
    assert "This sign-up form is closed" in post.content.decode()
    _nothing_written(tenant)


def test_a_form_of_another_workspace_is_404(tenant, other_tenant, signup_form):
    client = workspace_client(other_tenant)

    assert client.get(f"/f/{signup_form.public_id}/").status_code == 404
    assert (
        client.post(f"/f/{signup_form.public_id}/", {"email": "a@example.com"}).status_code == 404
    )
    assert (
        client.post(
            f"/f/{signup_form.public_id}/json/", "{}", content_type="application/json"
        ).status_code
        == 404
    )
    _nothing_written(tenant)
    _nothing_written(other_tenant)


def test_per_ip_rate_limit_answers_429(tenant, signup_form, settings):
    settings.SIGNUP_RATE_PER_IP = "3/60"
    client = workspace_client(tenant)
    codes = [
        client.post(f"/f/{signup_form.public_id}/", {"email": f"p{i}@example.com"}).status_code
        for i in range(5)
    ]

    assert codes == [400, 400, 400, 429, 429]
    assert "Too many attempts" in client.post(f"/f/{signup_form.public_id}/", {}).content.decode()


def test_the_per_ip_limit_of_one_workspace_does_not_limit_another(
    tenant, other_tenant, signup_form, settings
):
    settings.SIGNUP_RATE_PER_IP = "2/60"
    with schema_context(other_tenant.schema_name):
        other_form = make_form()
    ours, theirs = workspace_client(tenant), workspace_client(other_tenant)

    codes = [ours.post(f"/f/{signup_form.public_id}/", {}).status_code for _ in range(3)]
    other = ours.post(f"/f/{other_form.public_id}/", {}).status_code  # another workspace's form
    theirs_code = theirs.post(f"/f/{other_form.public_id}/", {}).status_code

    assert codes == [400, 400, 429]
    assert (other, theirs_code) == (404, 400)


def test_a_rate_window_that_ended_counts_afresh_and_is_purged_daily(tenant):
    rate = abuse.Rate(2, 60)
    with schema_context(tenant.schema_name):
        hits = [abuse.rate_consume(scope="ip", key="192.0.2.1", rate=rate) for _ in range(3)]
        SignupCounter.objects.update(expires=timezone.now() - timedelta(seconds=1))
        after_the_window = abuse.rate_consume(scope="ip", key="192.0.2.1", rate=rate)
        SignupCounter.objects.update(expires=timezone.now() - timedelta(seconds=1))
        purged = abuse.counters_purge()

        assert hits == [True, True, False]
        assert after_the_window is True
        assert purged == 1
        assert not SignupCounter.objects.exists()


def test_a_flood_of_bot_posts_creates_nobody_and_sends_at_most_the_address_limit(
    tenant, signup_form, settings, django_capture_on_commit_callbacks
):
    """1,000 posts (the bound holds per window, whatever the count): bots without proof of
    work create nothing; one with solutions for a single address sends at most
    SIGNUP_RATE_PER_ADDRESS emails; past the per-IP limit everything is refused."""
    settings.SIGNUP_RATE_PER_IP = "200/3600"
    settings.SIGNUP_RATE_PER_ADDRESS = "3/3600"
    client = workspace_client(tenant)
    url = f"/f/{signup_form.public_id}/"
    codes: dict[int, int] = {}
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(900):  # no proof of work: the snippet's post, from a bot
            code = client.post(url, {"email": f"bot{i}@example.com", "consent": "yes"}).status_code
            codes[code] = codes.get(code, 0) + 1
        with schema_context(tenant.schema_name):
            assert Contact.objects.count() == 0
        settings.SIGNUP_RATE_PER_IP = "10000/3600"
        for _ in range(100):  # solved every time, always the same victim's address
            sign_up(client, signup_form, email="victim@example.com")
    run_queued_tasks()

    assert codes == {200: 200, 429: 700}
    with schema_context(tenant.schema_name):
        assert Contact.objects.count() == 1
        # SIGNUP_RATE_PER_ADDRESS posts got through, processed in one batch: the one
        # membership gets one email (resends are for posts after it was emailed)
        assert PendingSignup.objects.count() == 0
        assert SignupForm.objects.get().submissions_count == 3
    assert len(mail.outbox) == 1


def test_json_endpoint_describes_the_form_and_signs_up(tenant, signup_form):
    client = workspace_client(tenant)
    url = f"/f/{signup_form.public_id}/json/"
    described = client.get(url)
    challenge = described.json()["altcha_challenge"]
    import altcha

    parsed = altcha.Challenge.from_dict(challenge)
    proof = altcha.Payload(parsed, altcha.solve_challenge(parsed)).to_base64()

    response = client.post(
        url,
        json.dumps({"email": "ann@example.com", "consent": True, "altcha": proof}),
        content_type="application/json",
        HTTP_ORIGIN="https://shop.example",
    )

    assert described.status_code == 200
    assert described["Access-Control-Allow-Origin"] == "*"
    assert [f["name"] for f in described.json()["fields"]] == ["email", "first_name"]
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response
    process_signups(tenant)
    with schema_context(tenant.schema_name):
        assert Membership.objects.get().status == MembershipStatus.UNCONFIRMED


def test_json_endpoint_errors(tenant, signup_form):
    client = workspace_client(tenant)
    url = f"/f/{signup_form.public_id}/json/"

    bad_email = client.post(
        url, json.dumps({"email": "x", "consent": True}), content_type="application/json"
    )
    no_proof = client.post(
        url,
        json.dumps({"email": "a@example.com", "consent": True}),
        content_type="application/json",
    )
    not_json = client.post(url, "{", content_type="application/json")
    too_big = client.post(url, json.dumps({"email": "a" * 20_000}), content_type="application/json")

    assert (bad_email.status_code, bad_email.json()["errors"]["email"]) == (
        400,
        "Enter a valid email address.",
    )
    assert no_proof.status_code == 403
    assert not_json.status_code == 400
    assert too_big.status_code == 413
    _nothing_written(tenant)


def test_hosted_page_speaks_the_forms_language(tenant):
    with schema_context(tenant.schema_name):
        form = make_form(language="de")
    body = workspace_client(tenant).get(f"/f/{form.public_id}/").content.decode()

    assert 'lang="de"' in body


def test_a_solution_for_one_form_does_not_open_another(tenant, signup_form):
    with schema_context(tenant.schema_name):
        other = make_form(name="Offers")
    client = workspace_client(tenant)
    proof = human_fields(client.get(f"/f/{signup_form.public_id}/").content.decode())

    response = client.post(
        f"/f/{other.public_id}/", {"email": "ann@example.com", "consent": "yes", **proof}
    )

    assert "One more step" in response.content.decode()
    _nothing_written(tenant)


# --- accepted posts wait for the cluster ---------------------------------------------------


def _queued_processing() -> int:
    return sum(1 for _, t in queued_signup_tasks() if t["func"].endswith(".signups_process_task"))


def test_a_burst_of_posts_queues_one_processing_task_until_it_starts(
    tenant, signup_form, django_capture_on_commit_callbacks
):
    client = workspace_client(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(5):
            sign_up(client, signup_form, email=f"p{i}@example.com")

    assert _queued_processing() == 1
    assert run_queued_tasks() == 1 + 1  # the processing, then one task with the 5 emails
    with schema_context(tenant.schema_name):
        assert Membership.objects.filter(status=MembershipStatus.UNCONFIRMED).count() == 5
        assert not PendingSignup.objects.exists()
    assert len(mail.outbox) == 5
    with django_capture_on_commit_callbacks(execute=True):  # after it started: a new task
        sign_up(client, signup_form, email="late@example.com")
    assert _queued_processing() == 1


def test_a_signup_whose_list_was_deleted_before_processing_writes_nothing(tenant, signup_form):
    sign_up(workspace_client(tenant), signup_form)
    with schema_context(tenant.schema_name):
        signup_form.groups.get().delete()

    process_signups(tenant)

    with schema_context(tenant.schema_name):
        assert not Contact.objects.exists()
        assert not PendingSignup.objects.exists()


def test_the_minute_sweep_processes_signups_whose_task_was_lost(
    tenant, signup_form, django_capture_on_commit_callbacks
):
    from engagex.subscriptions.tasks import signups_sweep

    client = workspace_client(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client, signup_form)
    for queued, _task in queued_signup_tasks():
        queued.delete()  # the worker holding it was killed
    with schema_context(tenant.schema_name):
        fresh = PendingSignup.objects.get().pk

    assert signups_sweep() == 0  # a fresh one is left to its own task
    assert _queued_processing() == 0
    with schema_context(tenant.schema_name):
        PendingSignup.objects.filter(pk=fresh).update(
            submitted_at=timezone.now() - timedelta(seconds=60)
        )
    assert signups_sweep() == 1  # one workspace: a task is queued for it
    assert _queued_processing() == 1
    assert process_signups(tenant) == 1

    with schema_context(tenant.schema_name):
        assert Membership.objects.get().contact.email == "ann@example.com"
    with django_capture_on_commit_callbacks(execute=True):  # and posts queue tasks again
        sign_up(client, signup_form, email="next@example.com")
    assert _queued_processing() == 1


def test_one_signup_that_fails_does_not_hold_up_the_others(
    tenant, signup_form, monkeypatch, caplog
):
    from engagex.subscriptions.services import forms

    client = workspace_client(tenant)
    for email in ["a@example.com", "boom@example.com", "c@example.com"]:
        sign_up(client, signup_form, email=email)
    real = forms.signup_submit

    def flaky(*, submission, **kwargs):
        if submission.email == "boom@example.com":
            raise RuntimeError("disk on fire")
        return real(submission=submission, **kwargs)

    monkeypatch.setattr(forms, "signup_submit", flaky)

    assert process_signups(tenant) == 3

    with schema_context(tenant.schema_name):
        assert set(Contact.objects.values_list("email", flat=True)) == {
            "a@example.com",
            "c@example.com",
        }
        assert not PendingSignup.objects.exists()
    assert "disk on fire" in caplog.text


def test_processing_a_workspace_leaves_another_workspaces_signups_alone(
    tenant, other_tenant, signup_form
):
    with schema_context(other_tenant.schema_name):
        other_form = make_form(name="Theirs")
    sign_up(workspace_client(tenant), signup_form, email="ours@example.com")
    sign_up(workspace_client(other_tenant), other_form, email="theirs@example.com")

    assert process_signups(tenant) == 1

    with schema_context(tenant.schema_name):
        assert list(Contact.objects.values_list("email", flat=True)) == ["ours@example.com"]
    with schema_context(other_tenant.schema_name):
        assert not Contact.objects.exists()
        assert PendingSignup.objects.get().email == "theirs@example.com"


def test_a_batch_bigger_than_the_plans_room_signs_up_only_as_many_as_fit(
    tenant, signup_form, on_plan
):
    with schema_context(tenant.schema_name):
        ContactFactory(email="already@example.com")
    on_plan(tenant, contact_limit=3)
    client = workspace_client(tenant)
    for email in ["a@example.com", "already@example.com", "b@example.com", "c@example.com"]:
        sign_up(client, signup_form, email=email)

    assert process_signups(tenant) == 4  # all taken; the batch could not reserve room for 4

    with schema_context(tenant.schema_name):
        assert set(Contact.objects.values_list("email", flat=True)) == {
            "already@example.com",
            "a@example.com",
            "b@example.com",
        }
        assert set(Membership.objects.values_list("contact__email", flat=True)) == {
            "a@example.com",
            "already@example.com",
            "b@example.com",
        }
        assert not PendingSignup.objects.exists()


def test_public_pages_read_a_form_once_per_cache_window_and_its_own_save_at_once(
    tenant,
    other_tenant,
    signup_form,
    settings,
    django_assert_num_queries,
    django_capture_on_commit_callbacks,
):
    from engagex.subscriptions.selectors import signup_form_get, signup_forms_forget
    from engagex.subscriptions.services.forms import signup_form_save

    settings.SIGNUP_FORM_CACHE_SECONDS = 60
    signup_forms_forget()
    with schema_context(tenant.schema_name):
        first = signup_form_get(public_id=signup_form.public_id)
        with django_assert_num_queries(0):  # the form and its lists, kept
            again = signup_form_get(public_id=signup_form.public_id)
            assert [g.name for g in again.groups.all()] == ["News"]
        assert again is first
        signup_form.name = "Renamed"
        with django_capture_on_commit_callbacks(execute=True):  # forgotten once committed
            signup_form_save(form=signup_form, groups=list(signup_form.groups.all()))
        assert signup_form_get(public_id=signup_form.public_id).name == "Renamed"
    with schema_context(other_tenant.schema_name):  # kept per workspace: not served there
        assert signup_form_get(public_id=signup_form.public_id) is None
    signup_forms_forget()


def test_a_signup_keeps_the_consent_words_and_time_of_its_post(tenant, signup_form):
    sign_up(workspace_client(tenant), signup_form)
    with schema_context(tenant.schema_name):
        posted_at = PendingSignup.objects.get().submitted_at
        SignupForm.objects.filter(pk=signup_form.pk).update(consent_text="New words.")

    process_signups(tenant)

    with schema_context(tenant.schema_name):
        membership = Membership.objects.get()
        assert membership.consent_text == "Yes, send me the newsletter."
        assert membership.consent_at == posted_at


def test_a_signup_the_database_failed_on_is_tried_again_then_dropped(
    tenant, signup_form, monkeypatch
):
    from django.db import OperationalError

    from engagex.subscriptions.services import forms

    client = workspace_client(tenant)
    for email in ["a@example.com", "locked@example.com"]:
        sign_up(client, signup_form, email=email)
    real = forms.signup_submit

    def deadlocked(*, submission, **kwargs):
        if submission.email == "locked@example.com":
            raise OperationalError("deadlock detected")
        return real(submission=submission, **kwargs)

    monkeypatch.setattr(forms, "signup_submit", deadlocked)
    with schema_context(tenant.schema_name):
        assert forms._process_batch() == 2
        assert list(Contact.objects.values_list("email", flat=True)) == ["a@example.com"]
        kept = PendingSignup.objects.get()
        assert (kept.email, kept.attempts) == ("locked@example.com", 1)
        forms._process_batch()
        assert PendingSignup.objects.get().attempts == 2
        forms._process_batch()  # the third failure: given up
        assert not PendingSignup.objects.exists()
        assert list(Contact.objects.values_list("email", flat=True)) == ["a@example.com"]


def test_a_task_whose_time_is_up_hands_over_to_the_next(tenant, signup_form, settings):
    from engagex.subscriptions.tasks import signups_process_task

    sign_up(workspace_client(tenant), signup_form)
    settings.SIGNUP_PROCESS_SECONDS = 0

    assert signups_process_task(tenant.schema_name) is False

    with schema_context(tenant.schema_name):
        assert PendingSignup.objects.count() == 1
    assert _queued_processing() == 1


def test_a_batch_locks_only_its_waiting_signups_not_their_forms(tenant, signup_form):
    """A form row locked by a batch would hold every post to that form (its insert checks
    the form) until the batch commits."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from engagex.subscriptions.services import forms

    sign_up(workspace_client(tenant), signup_form)
    with schema_context(tenant.schema_name), CaptureQueriesContext(connection) as queries:
        forms._process_batch()

    locking = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    assert any(
        'FOR UPDATE OF "subscriptions_pendingsignup" SKIP LOCKED' in sql for sql in locking
    ), locking
