import pytest
from django.core.exceptions import ValidationError

from engagex.email_templates.sandbox import (
    MERGE_FIELD_FORMAT,
    merge_compile,
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
    values = merged.values(
        {
            "contact": {"first_name": "Ann", "attributes": {"vip": True}},
            "unsubscribe_url": "https://u/1",
        }
    )
    rendered = merged.text
    for key, value in values.items():
        rendered = rendered.replace(MERGE_FIELD_FORMAT.format(key), value)
    assert rendered == '<h1>Acme</h1><p>Hi Ann</p><b>VIP</b><a href="https://u/1">unsubscribe</a>'
