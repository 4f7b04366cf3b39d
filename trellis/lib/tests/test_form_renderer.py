"""The form renderer writes the plainest widgets itself: its HTML must be Django's templates' to
the byte, for every kind, every value and every attribute a form can give them."""

import itertools

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.template import Context, Template
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from trellis.lib import form_renderer
from trellis.lib.form_renderer import FormRenderer
from trellis.lib.forms import Form

DJANGO, OURS = DjangoTemplates(), FormRenderer()

TEMPLATES = sorted(
    {form_renderer.INPUT, form_renderer.OPTION, form_renderer.TEXTAREA, form_renderer.SELECT_OPTION}
    | form_renderer.INPUT_KINDS
    | form_renderer.OPTION_KINDS
)
VALUES = [None, "", "0", "plain", 'a "quoted" <b>&amp; tag</b>', mark_safe("<i>safe</i>"), 56,
          0, 2.5, ("a", 1), "Zoë — naïve"]  # fmt: skip
ATTRS = [
    {},
    {"id": "id_dose"},
    {"id": "id_x", "required": True, "disabled": False, "class": "a b", "maxlength": 100},
    {"aria-describedby": 'x" onmouseover="alert(1)', "data-n": 0, "checked": True, "min": None},
    {"id": mark_safe("id_<safe>"), "placeholder": gettext_lazy("Find a patient")},
]
LABELS = ["Yes", "<em>no</em>", mark_safe("<em>safe</em>"), 3, gettext_lazy("Nausea")]


def widget(template, value, attrs, label, wrap):
    return {
        "name": "dose_mg",
        "type": "radio" if "option" in template else "text",
        "value": value,
        "attrs": attrs,
        "label": label,
        "wrap_label": wrap,
        "is_hidden": False,
        "required": False,
        "template_name": template,
    }


@pytest.mark.parametrize("template", TEMPLATES)
def test_each_widget_template_renders_as_djangos(template):
    for value, attrs, label, wrap in itertools.product(VALUES, ATTRS, LABELS, (False, True)):
        context = {"widget": widget(template, value, attrs, label, wrap)}
        assert OURS.render(template, context) == DJANGO.render(template, context), context


def test_a_value_or_type_missing_from_the_context_reads_as_in_a_template():
    context = {"widget": {"name": "q", "attrs": {}}}
    assert OURS.render(form_renderer.INPUT, context) == DJANGO.render(form_renderer.INPUT, context)
    assert OURS.render(form_renderer.INPUT, context) == '<input type="" name="q">'


class EveryKind(Form):  # the product's base, as every form under trellis/ must be
    text = forms.CharField(max_length=20, help_text="Help")
    number = forms.IntegerField(min_value=0, required=False)
    when = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), required=False)
    email = forms.EmailField(required=False)
    secret = forms.CharField(widget=forms.PasswordInput, required=False)
    hidden = forms.CharField(widget=forms.HiddenInput, required=False)
    agreed = forms.BooleanField(required=False)
    note = forms.CharField(widget=forms.Textarea, required=False)
    dose = forms.ChoiceField(choices=[("56", "56 mg"), ("84", "84 mg")], widget=forms.RadioSelect)
    effects = forms.MultipleChoiceField(
        choices=[("nausea", "Nausea"), ("<x>", "A & B")],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    when_of_day = forms.ChoiceField(choices=[("", "—"), ("pre", "Pre-dose")], required=False)
    device = forms.ChoiceField(
        choices=[("", "Choose…"), ("Lot <A>", [("a1", "A & 1"), ("a2", "A2")]), ("b", "B")],
        widget=forms.Select(attrs={"class": "wide", "data-x": '"q"'}),
        required=False,
    )
    days = forms.MultipleChoiceField(
        choices=[(1, "Monday"), (2, "Tuesday")], widget=forms.SelectMultiple, required=False
    )
    count = forms.TypedChoiceField(choices=[(0, "none"), (1, 1), (2.5, "half")], coerce=float)


PAGE = Template(
    "{{ form }}{% for f in form %}{{ f }}{% for option in f.subwidgets %}{{ option.tag }}"
    "{{ option }}{% endfor %}{% endfor %}"
)


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"text": "<b>x</b>", "number": "-1", "when": "25:00", "dose": "84", "effects": ["<x>"],
         "agreed": "on", "note": "line\none & two", "hidden": '"q"', "when_of_day": "pre",
         "device": "a1", "days": ["1", "2"], "count": "2.5"},
    ],
)  # fmt: skip
def test_a_whole_form_and_its_options_render_as_with_djangos_renderer(data):
    ours = PAGE.render(Context({"form": EveryKind(data, renderer=OURS)}))
    django = PAGE.render(Context({"form": EveryKind(data, renderer=DJANGO)}))
    assert ours == django
    assert 'name="dose" value="84"' in ours
    assert '<optgroup label="Lot &lt;A&gt;">' in ours


def test_the_product_renders_its_forms_with_it(settings):
    from django.forms.renderers import get_default_renderer

    assert settings.FORM_RENDERER == "trellis.lib.form_renderer.FormRenderer"
    assert isinstance(get_default_renderer(), FormRenderer)


def test_a_select_whose_options_draw_with_another_template_is_left_to_django():
    class Marked(forms.Select):
        option_template_name = "django/forms/widgets/input_option.html"

    widget = Marked(choices=[("a", "A")])
    context = widget.get_context("x", "a", {"id": "id_x"})
    assert form_renderer._select(context["widget"]) is None
    assert OURS.render(form_renderer.SELECT, context) == DJANGO.render(
        form_renderer.SELECT, context
    )


@pytest.mark.parametrize("value", [None, "", "a1", ["a1", "b"], 0])
def test_a_select_with_groups_is_written_out_as_django_draws_it(value):
    choices = [
        ("", "—"),
        ("Group <1>", [("a1", "A & 1"), (0, "zero")]),
        ("b", mark_safe("<b>B</b>")),
    ]
    for widget in (forms.Select(choices=choices), forms.SelectMultiple(choices=choices)):
        context = widget.get_context("device", value, {"id": "id_device", "required": True})
        ours = form_renderer._select(context["widget"])
        assert ours is not None
        assert ours == DJANGO.render(form_renderer.SELECT, context)
