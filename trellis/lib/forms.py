"""Form bases for every form in Trellis.

``Form`` and ``ModelForm`` check what a person typed against the character rules of
``trellis.lib.text`` before any field is cleaned, so that a NUL byte or a right-to-left override
gets a message on the field it was typed in — never a 500 from the database (PostgreSQL refuses
NUL in text, and a field such as an MRN lookup would send it in a query).
"""

from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict, pretty_name

from trellis.lib.text import text_problem

# Labels longer than this ("What would you like help with? (optional)") read badly at the start
# of a sentence; the field's own name ("Reason") is used instead.
LONG_LABEL = 30


def is_name_field(name: str) -> bool:
    """A person's or a place's name: ``given_name``, ``family_name``, a clinic's ``name``."""
    return name == "name" or name.endswith("_name")


class TextRulesMixin:
    """Refuse control characters in every field, and invisible formatting in names.

    Multi-line fields are those drawn as a textarea. When any field breaks the rules, only those
    fields are reported: nothing else is cleaned, so no bad text reaches a query.
    """

    def text_problems(self) -> dict[str, str]:
        problems = {}
        for name, bound in self._bound_items():
            if bound.field.disabled:
                continue
            data = bound.data
            values = data if isinstance(data, (list, tuple)) else [data]
            for value in values:
                if not isinstance(value, str):
                    continue
                problem = text_problem(
                    value,
                    multiline=isinstance(bound.field.widget, forms.Textarea),
                    name=is_name_field(name),
                )
                if problem:
                    problems[name] = f"{_field_title(name, bound.label)} {problem}."
                    break
        return problems

    def full_clean(self) -> None:
        problems = self.text_problems() if self.is_bound else {}
        if not problems:
            super().full_clean()
            return
        self._errors = ErrorDict(renderer=self.renderer)
        self.cleaned_data = {}
        for name, message in problems.items():
            self.add_error(name, message)


def _field_title(name: str, label: str | None) -> str:
    label = str(label or "")
    if not label or len(label) > LONG_LABEL or "?" in label:
        return pretty_name(name)
    return label


class Form(TextRulesMixin, forms.Form):
    pass


class ModelForm(TextRulesMixin, forms.ModelForm):
    pass


def apply_validation_error(form: forms.BaseForm, error: ValidationError) -> None:
    """Put a model's ValidationError on the form fields it names (or on the form itself)."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


# Dates a filter accepts: wide enough for any record, narrow enough that a day before or after
# and a timezone shift stay inside what Python and the databases can hold (date.max + 1 day
# raises OverflowError).
FILTER_EARLIEST = date(1900, 1, 1)
FILTER_LATEST = date(2999, 12, 31)


class FilterDateField(forms.DateField):
    """A date in a report's filter: refused by name outside FILTER_EARLIEST..FILTER_LATEST."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault(
            "widget",
            forms.DateInput(
                attrs={
                    "type": "date",
                    "min": FILTER_EARLIEST.isoformat(),
                    "max": FILTER_LATEST.isoformat(),
                }
            ),
        )
        super().__init__(**kwargs)

    def validate(self, value) -> None:
        super().validate(value)
        if value and not FILTER_EARLIEST <= value <= FILTER_LATEST:
            raise ValidationError(
                f"Enter a date from {FILTER_EARLIEST.isoformat()} to {FILTER_LATEST.isoformat()}.",
                code="out_of_range",
            )
