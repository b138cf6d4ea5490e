"""The console's form builder: writes go through the service, refusals land on fields."""

import re
from html import unescape

from django_tenants.utils import schema_context

from engagex.contacts.models import Contact, ContactGroup
from engagex.subscriptions.models import SignupForm
from tests.subscriptions.conftest import make_form, workspace_client

ADD = "/admin/subscriptions/signupform/add/"


def _post_data(group_ids, **overrides) -> dict:
    data = {
        "name": "Newsletter",
        "is_active": "on",
        "groups": [str(pk) for pk in group_ids],
        "title": "Join us",
        "first_name": "optional",
        "last_name": "",
        "language_field": "",
        "custom_fields": "city | Your city | required",
        "consent_text": "Yes, send me news.",
        "language": "es",
        "accent_color": "#ff0066",
        "success_message": "",
        "redirect_url": "",
        "confirmation_subject": "",
        "confirmation_body": "",
    }
    data.update(overrides)
    return data


def _groups(tenant):
    with schema_context(tenant.schema_name):
        public = ContactGroup.objects.create(
            name="Weekly", visibility=ContactGroup.Visibility.PUBLIC
        )
        private = ContactGroup.objects.create(name="VIP")
    return public, private


def test_creating_a_form_stores_it_and_its_page_shows_url_snippet_and_counts(tenant, owner_client):
    public, _ = _groups(tenant)

    response = owner_client.post(ADD, _post_data([public.pk]))

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        form = SignupForm.objects.get()
        assert list(form.groups.all()) == [public]
        assert form.custom_fields == [{"name": "city", "label": "Your city", "required": True}]
    page = owner_client.get(f"/admin/subscriptions/signupform/{form.pk}/change/")
    body = page.content.decode()
    assert f"http://alpha.localhost/f/{form.public_id}/" in body
    assert "&lt;form method=&quot;post&quot;" in body  # the snippet, shown as text
    assert "0 submissions, 0 confirmations" in body
    assert "Only public lists can be offered on a form" in body


def test_a_private_list_is_refused_on_the_lists_field(tenant, owner_client):
    _, private = _groups(tenant)

    response = owner_client.post(ADD, _post_data([private.pk]))

    assert response.status_code == 200
    # not even offered: the field refuses it as an unknown choice
    assert "Select a valid choice" in response.content.decode()
    with schema_context(tenant.schema_name):
        assert SignupForm.objects.count() == 0


def test_a_list_made_private_later_is_named_in_the_error(tenant, owner_client):
    with schema_context(tenant.schema_name):
        form = make_form()
        group = form.groups.get()
        ContactGroup.objects.filter(pk=group.pk).update(visibility=ContactGroup.Visibility.PRIVATE)

    page = owner_client.get(f"/admin/subscriptions/signupform/{form.pk}/change/")
    response = owner_client.post(
        f"/admin/subscriptions/signupform/{form.pk}/change/", _post_data([group.pk])
    )

    assert "were deleted or made private" in page.content.decode()
    assert response.status_code == 200
    assert "“News” is a private list" in response.content.decode()
    with schema_context(tenant.schema_name):
        assert SignupForm.objects.get().name == "News form"  # unchanged


def test_bad_values_are_refused_on_their_fields_and_nothing_is_saved(tenant, owner_client):
    public, _ = _groups(tenant)

    response = owner_client.post(
        ADD,
        _post_data(
            [public.pk],
            redirect_url="javascript:alert(1)",
            confirmation_body="Click here",
            custom_fields="email",
        ),
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "Enter a valid URL." in body or "Enter a full http:// or https:// address." in body
    with schema_context(tenant.schema_name):
        assert SignupForm.objects.count() == 0


def test_body_without_the_link_is_refused(tenant, owner_client):
    public, _ = _groups(tenant)

    response = owner_client.post(ADD, _post_data([public.pk], confirmation_body="Hi there"))

    assert response.status_code == 200
    assert "must contain {{ confirm_url }}" in unescape(response.content.decode())
    with schema_context(tenant.schema_name):
        assert SignupForm.objects.count() == 0


def test_the_snippet_posted_from_another_site_reaches_the_interstitial(tenant, owner_client):
    public, _ = _groups(tenant)
    owner_client.post(ADD, _post_data([public.pk], custom_fields=""))
    with schema_context(tenant.schema_name):
        form = SignupForm.objects.get()
    page = owner_client.get(f"/admin/subscriptions/signupform/{form.pk}/change/")
    snippet = unescape(
        re.search(r"<textarea readonly[^>]*>(.*?)</textarea>", page.content.decode(), re.S).group(1)
    )
    action = re.search(r'action="([^"]+)"', snippet).group(1)
    names = set(re.findall(r'name="([^"]+)"', snippet))

    assert "<script" not in snippet
    assert names == {"email", "first_name", "consent", "website"}
    response = workspace_client(tenant, enforce_csrf_checks=True).post(
        action.replace("http://alpha.localhost", ""),
        {"email": "ann@example.com", "first_name": "Ana", "consent": "yes", "website": ""},
        HTTP_ORIGIN="https://someone-elses-site.example",
    )
    assert response.status_code == 200
    assert (
        "Un paso más" in response.content.decode() or "One more step" in response.content.decode()
    )
    with schema_context(tenant.schema_name):
        assert Contact.objects.count() == 0
