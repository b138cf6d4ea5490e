"""Double opt-in links: scanners change nothing, the button confirms, bad links are 400."""

import time
from datetime import timedelta

from django.core import mail
from django.test import Client
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
from engagex.contacts.services.lists import Consent, membership_subscribe
from engagex.subscriptions.models import SignupForm
from engagex.subscriptions.services.confirmation import confirm_token
from engagex.subscriptions.services.forms import signup_form_save
from engagex.subscriptions.tasks import signups_expire
from tests.factories.contacts import ContactFactory
from tests.subscriptions.conftest import (
    confirm_link,
    make_form,
    process_signups,
    queued_signup_tasks,
    run_queued_tasks,
    sign_up,
    workspace_client,
)


def public_client(**kwargs) -> Client:
    return Client(HTTP_HOST="localhost", **kwargs)


def _signed_up(tenant, form, capture, email="ann@example.com") -> str:
    with capture(execute=True):
        sign_up(workspace_client(tenant), form, email=email)
    run_queued_tasks()
    return confirm_link(mail.outbox[-1].body)


def test_get_shows_a_button_and_changes_nothing(
    tenant, signup_form, django_capture_on_commit_callbacks
):
    link = _signed_up(tenant, signup_form, django_capture_on_commit_callbacks)

    response = public_client().get(link)

    assert response.status_code == 200
    body = response.content.decode()
    assert "Confirm your subscription" in body
    assert '<form method="post">' in body
    assert "Alpha Corp" in body
    with schema_context(tenant.schema_name):
        membership = Membership.objects.get()
        assert membership.status == MembershipStatus.UNCONFIRMED
        assert membership.confirmed_at is None


def test_post_confirms_with_ip_and_user_agent_and_counts_it(
    tenant, signup_form, django_capture_on_commit_callbacks
):
    link = _signed_up(tenant, signup_form, django_capture_on_commit_callbacks)

    response = public_client(HTTP_USER_AGENT="Safari/18").post(link)
    again = public_client().post(link)

    assert response.status_code == again.status_code == 200
    assert "You are subscribed" in response.content.decode()
    with schema_context(tenant.schema_name):
        membership = Membership.objects.get()
        assert membership.status == MembershipStatus.SUBSCRIBED
        assert membership.confirmed_at is not None
        assert membership.confirm_ip == "127.0.0.1"
        assert membership.confirm_user_agent == "Safari/18"
        assert SignupForm.objects.get().confirmations_count == 1


def test_a_tampered_link_is_400_and_changes_nothing(
    tenant, signup_form, django_capture_on_commit_callbacks
):
    link = _signed_up(tenant, signup_form, django_capture_on_commit_callbacks)
    schema, membership, contact, expires, signature = link.strip("/").split("/")[1].split(".")
    other = f"/c/{schema}.{membership}.{contact}.zzzzzzz.{signature}/"

    for bad in [other, link[:-3] + "x/", "/c/garbage/"]:
        response = public_client().post(bad)
        assert response.status_code == 400
        assert "This confirmation link is not valid" in response.content.decode()
    with schema_context(tenant.schema_name):
        assert Membership.objects.get().status == MembershipStatus.UNCONFIRMED


def test_an_expired_link_is_400(tenant, signup_form):
    with schema_context(tenant.schema_name):
        contact = ContactFactory()
        group = signup_form.groups.get()
        membership = Membership.objects.create(
            contact=contact, group=group, status=MembershipStatus.UNCONFIRMED
        )
    token = confirm_token(
        schema=tenant.schema_name,
        membership_id=membership.pk,
        contact_id=contact.pk,
        expires=int(time.time()) - 1,
    )

    response = public_client().post(f"/c/{token}/")

    assert response.status_code == 400
    with schema_context(tenant.schema_name):
        assert Membership.objects.get().status == MembershipStatus.UNCONFIRMED


def test_a_token_for_another_workspace_is_refused(tenant, other_tenant, signup_form):
    with schema_context(tenant.schema_name):
        contact = ContactFactory()
        membership = Membership.objects.create(
            contact=contact, group=signup_form.groups.get(), status=MembershipStatus.UNCONFIRMED
        )
    token = confirm_token(
        schema=tenant.schema_name,
        membership_id=membership.pk,
        contact_id=contact.pk,
        expires=int(time.time()) + 3600,
    )
    forged = token.replace(tenant.schema_name, other_tenant.schema_name, 1)

    response = public_client().post(f"/c/{forged}/")

    assert response.status_code == 400
    with schema_context(tenant.schema_name):
        assert Membership.objects.get().status == MembershipStatus.UNCONFIRMED


def test_submitting_again_resends_within_the_address_limit(
    tenant, signup_form, settings, django_capture_on_commit_callbacks
):
    settings.SIGNUP_RATE_PER_ADDRESS = "2/3600"
    client = workspace_client(tenant)
    answers = set()
    for _ in range(4):  # each time after the last one was processed and emailed
        with django_capture_on_commit_callbacks(execute=True):
            answers.add(sign_up(client, signup_form).content)
        run_queued_tasks()

    assert len(answers) == 1  # the same page each time
    assert len(mail.outbox) == 2
    with schema_context(tenant.schema_name):
        assert Membership.objects.count() == 1


def test_someone_unsubscribed_from_everything_comes_back_only_by_confirming(
    tenant, django_capture_on_commit_callbacks
):
    from tests.subscriptions.conftest import make_form

    with schema_context(tenant.schema_name):
        form = make_form(opt_in=ContactGroup.OptIn.SINGLE)
        ContactFactory(email="ann@example.com", status=ContactStatus.UNSUBSCRIBED)
    link = _signed_up(tenant, form, django_capture_on_commit_callbacks)
    with schema_context(tenant.schema_name):
        assert Contact.objects.get().status == ContactStatus.UNSUBSCRIBED

    public_client().post(link)

    with schema_context(tenant.schema_name):
        assert Contact.objects.get().status == ContactStatus.SUBSCRIBED
        assert Membership.objects.get().status == MembershipStatus.SUBSCRIBED


def test_thousands_of_unconfirmed_members_from_an_import_are_one_task_per_batch(
    tenant, settings, django_capture_on_commit_callbacks
):
    settings.SIGNUP_CONFIRMATION_BATCH = 500
    with schema_context(tenant.schema_name):
        group = ContactGroup.objects.create(name="Imported", opt_in=ContactGroup.OptIn.DOUBLE)
        contacts = Contact.objects.bulk_create(
            Contact(email=f"p{i}@example.com") for i in range(1200)
        )
        members = Membership.objects.bulk_create(
            Membership(contact=c, group=group, status=MembershipStatus.UNCONFIRMED)
            for c in contacts
        )
        from engagex.contacts.services.lists import confirmation_request

        with django_capture_on_commit_callbacks(execute=True):
            confirmation_request(memberships=members)

    assert [len(task["args"][1]) for _, task in queued_signup_tasks()] == [500, 500, 200]
    run_queued_tasks()
    assert len(mail.outbox) == 1200
    # no form: the default text, in the workspace's language
    assert mail.outbox[0].subject == "Please confirm your subscription to Imported"


def test_membership_subscribe_from_the_api_path_uses_the_sender(
    tenant, django_capture_on_commit_callbacks
):
    with schema_context(tenant.schema_name):
        group = ContactGroup.objects.create(name="API list", opt_in=ContactGroup.OptIn.DOUBLE)
        contact = ContactFactory(email="api@example.com", language="de")
        with django_capture_on_commit_callbacks(execute=True):
            membership_subscribe(
                contact=contact, group=group, consent=Consent(source=ConsentSource.API)
            )
    run_queued_tasks()

    assert mail.outbox[0].to == ["api@example.com"]
    assert "/c/" in mail.outbox[0].body


def test_expiry_deletes_old_unconfirmed_signups_and_the_contacts_they_created(
    tenant, signup_form, django_capture_on_commit_callbacks
):
    with schema_context(tenant.schema_name):
        ContactFactory(email="known@example.com")
    for email in ["new@example.com", "known@example.com"]:
        sign_up(workspace_client(tenant), signup_form, email=email)
    process_signups(tenant)
    with schema_context(tenant.schema_name):
        Membership.objects.update(status_changed_at=timezone.now() - timedelta(days=31))
        fresh = ContactFactory(email="fresh@example.com")
        Membership.objects.create(
            contact=fresh,
            group=signup_form.groups.get(),
            status=MembershipStatus.UNCONFIRMED,
            status_changed_at=timezone.now() - timedelta(days=29),
        )

    totals = signups_expire()

    assert totals == {"memberships": 2, "contacts": 1}
    with schema_context(tenant.schema_name):
        emails = set(Contact.objects.values_list("email", flat=True))
        assert emails == {"known@example.com", "fresh@example.com"}
        assert list(Membership.objects.values_list("contact__email", flat=True)) == [
            "fresh@example.com"
        ]


def _two_list_form(tenant):
    with schema_context(tenant.schema_name):
        news = make_form(name="News")
        deals = ContactGroup.objects.create(
            name="Deals",
            visibility=ContactGroup.Visibility.PUBLIC,
            opt_in=ContactGroup.OptIn.DOUBLE,
        )
        return signup_form_save(form=news, groups=[*news.groups.all(), deals])


def test_a_sign_up_to_two_lists_gets_one_email_whose_button_confirms_both(
    tenant, django_capture_on_commit_callbacks
):
    form = _two_list_form(tenant)
    link = _signed_up(tenant, form, django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Please confirm your subscription to News, Deals"
    page = public_client().get(link).content.decode()
    assert "Press the button to receive “News”, “Deals” from" in page
    with schema_context(tenant.schema_name):
        assert set(Membership.objects.values_list("status", flat=True)) == {
            MembershipStatus.UNCONFIRMED
        }

    response = public_client().post(link)

    assert "you will receive “News”, “Deals” from" in response.content.decode()
    with schema_context(tenant.schema_name):
        assert set(Membership.objects.values_list("group__name", "status")) == {
            ("News", MembershipStatus.SUBSCRIBED),
            ("Deals", MembershipStatus.SUBSCRIBED),
        }
        assert SignupForm.objects.get().confirmations_count == 2


def test_a_list_left_before_confirming_stays_left(tenant, django_capture_on_commit_callbacks):
    form = _two_list_form(tenant)
    link = _signed_up(tenant, form, django_capture_on_commit_callbacks)
    with schema_context(tenant.schema_name):
        Membership.objects.filter(group__name="Deals").update(status=MembershipStatus.UNSUBSCRIBED)

    response = public_client().post(link)

    assert "you will receive “News” from" in response.content.decode()
    with schema_context(tenant.schema_name):
        assert set(Membership.objects.values_list("group__name", "status")) == {
            ("News", MembershipStatus.SUBSCRIBED),
            ("Deals", MembershipStatus.UNSUBSCRIBED),
        }


def test_a_link_never_confirms_another_persons_membership(tenant, signup_form):
    with schema_context(tenant.schema_name):
        ann, bob = ContactFactory(), ContactFactory()
        group = signup_form.groups.get()
        theirs = Membership.objects.create(
            contact=bob, group=group, status=MembershipStatus.UNCONFIRMED
        )
    # A validly signed link for Ann that names Bob's membership (as a bug would make it).
    token = confirm_token(
        schema=tenant.schema_name,
        membership_ids=[theirs.pk],
        contact_id=ann.pk,
        expires=int(time.time()) + 3600,
    )
    tampered_ids = confirm_link_with_extra_id(
        tenant, signup_form, contact=bob, extra=theirs.pk + 1000
    )

    assert public_client().post(f"/c/{token}/").status_code == 400
    assert public_client().post(tampered_ids).status_code == 400
    with schema_context(tenant.schema_name):
        assert Membership.objects.get(pk=theirs.pk).status == MembershipStatus.UNCONFIRMED


def confirm_link_with_extra_id(tenant, form, *, contact, extra) -> str:
    """Bob's own one-list link with a membership id added by hand (the signature breaks)."""
    with schema_context(tenant.schema_name):
        own = Membership.objects.get(contact=contact)
    token = confirm_token(
        schema=tenant.schema_name,
        membership_id=own.pk,
        contact_id=contact.pk,
        expires=int(time.time()) + 3600,
    )
    schema, members, rest = token.split(".", 2)
    return f"/c/{schema}.{members}-{extra:x}.{rest}/"


def test_the_confirmation_page_quotes_list_names_the_way_the_forms_language_does(
    tenant, django_capture_on_commit_callbacks
):
    with schema_context(tenant.schema_name):
        form = make_form(name="Neuigkeiten", language="de")
    link = _signed_up(tenant, form, django_capture_on_commit_callbacks)

    page = public_client().get(link).content.decode()

    assert "um „Neuigkeiten“ von <strong>Alpha Corp</strong> zu erhalten" in page
