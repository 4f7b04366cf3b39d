from datetime import date

from django import forms
from django.core.exceptions import ValidationError


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
