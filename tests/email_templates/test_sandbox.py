import pytest
from django.core.exceptions import ValidationError

from engagex.email_templates.sandbox import (
    MERGE_FIELD_FORMAT,
    merge_compile,
    merge_values,
    render,
    sample_context,
    template_compile,
)


def test_merge_tags_render_with_defaults():
    context = sample_context(
        contact={"email": "a@b.co", "first_name": "", "attributes": {"plan": "gold"}}
    )

    out = render(
        'Hi {{ contact.first_name|default:"there" }} ({{ contact.attributes.plan }})',
        context,
        html=True,
    )

    assert out == "Hi there (gold)"


def test_contact_values_are_escaped_in_html_but_not_in_text():
    context = sample_context(contact={"email": "a@b.co", "first_name": "<script>x</script>"})

    assert "&lt;script&gt;" in render("{{ contact.first_name }}", context, html=True)
    assert render("{{ contact.first_name }}", context, html=False) == "<script>x</script>"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Hello\n{% load static %}", "Line 2: the tag {% load %} is not allowed"),
        ("{% include '/etc/passwd' %}", "Line 1: the tag {% include %} is not allowed"),
        ("a\nb\n{% extends 'base.html' %}", "Line 3: the tag {% extends %} is not allowed"),
        ("{% debug %}", "the tag {% debug %} is not allowed"),
        ("{% url 'admin:index' %}", "the tag {% url %} is not allowed"),
        ("{{ contact.first_name|safe }}", "the filter |safe is not available"),
        ("line1\n{% if x %}unclosed", "Line 2: Unclosed tag"),
    ],
)
def test_forbidden_tags_and_syntax_errors_name_the_line(source, expected):
    with pytest.raises(ValidationError) as error:
        template_compile(source)

    assert expected in error.value.messages[0]


def test_private_attributes_are_refused_and_unknown_names_render_empty():
    with pytest.raises(ValidationError, match="may not begin with underscores"):
        template_compile("{{ contact._meta }}")

    source = "{{ settings.SECRET_KEY }}{{ request }}{{ contact.save }}"
    assert render(source, sample_context(), html=True) == ""


def test_merge_compile_renders_shared_parts_once_and_fields_per_recipient():
    source = (
        "<h1>{{ workspace.name }}</h1>"
        '<p>Hi {{ contact.first_name|default:"there" }}</p>'
        "{% if contact.attributes.vip %}<b>VIP</b>{% endif %}"
        '<a href="{{ unsubscribe_url }}">unsubscribe</a>'
    )
    merged = merge_compile(
        source, prefix="h", shared_context={"workspace": {"name": "Acme"}}, html=True
    )

    assert merged.text.startswith("<h1>Acme</h1><p>Hi ")
    assert merged.text.count("[[x:") == 3
    values = merge_values(
        [merged],
        {
            "contact": {"first_name": "Ann", "attributes": {"vip": True}},
            "unsubscribe_url": "https://u/1",
        },
    )
    rendered = merged.text
    for key, value in values.items():
        rendered = rendered.replace(MERGE_FIELD_FORMAT.format(key), value)
    assert rendered == '<h1>Acme</h1><p>Hi Ann</p><b>VIP</b><a href="https://u/1">unsubscribe</a>'


CONTACTS = [
    {"first_name": "Ann", "last_name": "<b>O'Neil</b> & co", "attributes": {"plan": "gold"}},
    {"first_name": "", "last_name": "", "attributes": {"plan": 3, "score": 1234.5}},
    {"first_name": "Zoë", "last_name": "", "attributes": {"nested": {"x": "<i>"}, "tags": ["a"]}},
    {"first_name": "Al", "last_name": "B", "attributes": "not a dict"},
    {"first_name": "Ann", "last_name": "C", "attributes": {"plan": True, "tags": ["a", "b"]}},
    {"first_name": "ann", "last_name": "C", "attributes": {"plan": 1, "tags": []}},
    {"first_name": "Ann", "last_name": "D", "attributes": {"plan": "gold"}},
]


@pytest.mark.parametrize("html", [True, False])
def test_merge_values_match_django_rendering_for_every_recipient(html):
    """Direct lookups and remembered outputs give exactly what Django renders, per recipient."""
    source = (
        '{{ contact.first_name|default:"there" }}|{{ contact.last_name }}|'
        "{{ contact.attributes.plan }}|{{ contact.attributes.score|default:0 }}|"
        '{{ contact.attributes.nested.x|default:"<none>" }}|{{ contact.missing }}|'
        "{{ contact.first_name|upper }}|{{ contact.first_name.upper }}|"
        "{{ contact.attributes.plan|default:contact.last_name }}|"
        "{% if contact.attributes.plan == 'gold' %}gold{% elif contact.attributes.plan %}"
        "some{% else %}none{% endif %}|"
        "{% if workspace.name == 'x' %}x{% elif contact.first_name == 'Ann' %}Ann{% endif %}|"
        "{% for tag in contact.attributes.tags %}{% cycle 'odd' 'even' %}:{{ tag }} {% endfor %}|"
        "{% with c=contact %}{{ c.last_name|lower }}{% endwith %}|{{ unsubscribe_url }}"
    )
    merged = merge_compile(
        source, prefix="h", shared_context={"workspace": {"name": "W"}}, html=html
    )
    assert any(field.path for field in merged.fields)  # direct lookups are exercised
    assert any(field.references for field in merged.fields if not field.path)  # and memos

    for number, contact in enumerate(CONTACTS * 2):
        context = {"contact": contact, "unsubscribe_url": f"https://u/{number}?a=1&b=2"}
        rendered = merged.text
        for key, value in merge_values([merged], context).items():
            rendered = rendered.replace(MERGE_FIELD_FORMAT.format(key), value)
        expected = render(source, {**context, "workspace": {"name": "W"}}, html=html)
        assert rendered == expected, contact
    assert any(field.memo for field in merged.fields)


def test_fields_that_are_not_repeatable_are_rendered_for_every_recipient():
    merged = merge_compile(
        "{{ contact.attributes.tags|random }}|"
        "{% if contact.first_name %}{% now 'Y' %}{% endif %}|"
        "{% if contact.first_name %}{% cycle 'a' 'b' %}{% endif %}|"
        "{% if contact.first_name %}{{ contact.first_name }}{% endif %}",
        prefix="h",
        shared_context={},
        html=True,
    )

    assert [field.references for field in merged.fields] == [
        None,
        None,
        None,
        (("contact", "first_name"),),
    ]
