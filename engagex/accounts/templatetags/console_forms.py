"""Give plain Django widgets (allauth's forms) the console's input look."""

from django import template
from django.forms import CheckboxInput, RadioSelect
from unfold.widgets import BASE_INPUT_CLASSES

register = template.Library()


@register.filter
def console_widget(bound_field):
    """Add unfold's input classes to a field's widget unless it already has classes."""
    widget = bound_field.field.widget
    if not isinstance(widget, CheckboxInput | RadioSelect) and "class" not in widget.attrs:
        widget.attrs["class"] = " ".join(BASE_INPUT_CLASSES)
    return bound_field
