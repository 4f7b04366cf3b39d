"""The form renderer (``FORM_RENDERER``): Django's own, with its plainest widget templates — an
``<input>`` of any type, a radio button or checkbox of a choice, a ``<textarea>``, a ``<select>``
and its options — written out here instead of through the template engine.

A form's page draws many of them (a session's note about fifty, a screening more), and each is
otherwise two or three templates included in one another, a fifth of the session page's time.
The HTML is Django's to the byte: the tests render every kind both ways and compare, so a
Django upgrade that changes one of these templates fails them rather than drifting. Every other
template (a ``<select>``, a form's layout, errors) is rendered by Django as before.
"""

from __future__ import annotations

from django.forms.renderers import DjangoTemplates
from django.template import Context
from django.template.base import render_value_in_context
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, mark_safe

WIDGETS = "django/forms/widgets/"
INPUT = WIDGETS + "input.html"
OPTION = WIDGETS + "input_option.html"
TEXTAREA = WIDGETS + "textarea.html"
SELECT = WIDGETS + "select.html"
SELECT_OPTION = WIDGETS + "select_option.html"
# Each of these is ``{% include "django/forms/widgets/input.html" %}`` (the renderer strips the
# line ends around what a template gives, not those inside it).
INPUT_KINDS = frozenset(
    f"{WIDGETS}{kind}.html"
    for kind in (
        "checkbox",
        "color",
        "date",
        "datetime",
        "email",
        "file",
        "hidden",
        "number",
        "password",
        "search",
        "tel",
        "text",
        "time",
        "url",
    )
)
# Each of these is ``{% include "django/forms/widgets/input_option.html" %}``.
OPTION_KINDS = frozenset({WIDGETS + "radio_option.html", WIDGETS + "checkbox_option.html"})

# What ``{{ value }}`` does with a value in a template: localised, then escaped unless safe. The
# context is only read (its localisation and escaping settings: the defaults).
_CONTEXT = Context(autoescape=True)


def _text(value) -> str:
    return render_value_in_context(value, _CONTEXT)


def _formatted(value) -> str:
    """``{{ value|stringformat:'s' }}``: the filter keeps a safe string safe."""
    formatted = "%s" % (str(value) if isinstance(value, tuple) else value)
    return formatted if isinstance(value, SafeData) else conditional_escape(formatted)


def _attrs(attrs: dict) -> str:
    """``attrs.html``: each attribute but those set to False; True ones without a value."""
    return "".join(
        f" {_text(name)}" if value is True else f' {_text(name)}="{_formatted(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _input(widget: dict) -> str:
    """``input.html`` (a value missing from the context is no value, as in the ``{% if %}``)."""
    value = widget.get("value")
    shown = f' value="{_formatted(value)}"' if value is not None else ""
    return (
        f'<input type="{_text(widget.get("type", ""))}" name="{_text(widget["name"])}"'
        f"{shown}{_attrs(widget['attrs'])}>"
    )


def _option(widget: dict) -> str:
    """``input_option.html``: the input, in its label when ``wrap_label``."""
    if not widget.get("wrap_label"):
        return _input(widget)
    id_ = widget["attrs"].get("id")
    label_for = f' for="{_text(id_)}"' if id_ else ""
    return f"<label{label_for}>{_input(widget)}\n {_text(widget.get('label', ''))}</label>"


def _textarea(widget: dict) -> str:
    """``textarea.html``."""
    value = widget.get("value")
    return (
        f'<textarea name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>\n'
        f"{_text(value) if value else ''}</textarea>"
    )


def _select_option(option: dict) -> str:
    """``select_option.html``."""
    return (
        f'<option value="{_formatted(option.get("value"))}"{_attrs(option["attrs"])}>'
        f"{_text(option.get('label', ''))}</option>"
    )


def _select(widget: dict) -> str | None:
    """``select.html``, its options drawn by ``select_option.html`` (each with its line end,
    as an included template keeps it); None for an option drawn by another template."""
    html = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _ in widget.get("optgroups", ()):
        if group_name:
            html.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in options:
            if option.get("template_name") != SELECT_OPTION:
                return None
            html.append(f"\n  {_select_option(option)}\n")
        if group_name:
            html.append("\n  </optgroup>")
    html.append("\n</select>")
    return "".join(html)


class FormRenderer(DjangoTemplates):
    def render(self, template_name, context, request=None):
        widget = context.get("widget") if isinstance(context, dict) else None
        if widget is not None:
            if template_name == INPUT or template_name in INPUT_KINDS:
                return mark_safe(_input(widget))  # noqa: S308 -- every value escaped above
            if template_name == OPTION or template_name in OPTION_KINDS:
                return mark_safe(_option(widget))  # noqa: S308
            if template_name == TEXTAREA:
                return mark_safe(_textarea(widget))  # noqa: S308
            if template_name == SELECT_OPTION:
                return mark_safe(_select_option(widget))  # noqa: S308
            if template_name == SELECT and (html := _select(widget)) is not None:
                return mark_safe(html)  # noqa: S308
        return super().render(template_name, context, request)
