"""Forms of the resource pages: a resource with its weekly hours, and a block.

The rules are ``hours`` and ``resource_services``'; these read what an administrator typed and
place a service's error on the field it names (``place``).
"""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.utils.text import capfirst

from trellis.lib.errors import InputError
from trellis.lib.forms import Form
from trellis.scheduling import hours as weekly_hours
from trellis.scheduling import resource_services
from trellis.scheduling.forms import DATE, TIME
from trellis.scheduling.kinds import ResourceKind
from trellis.scheduling.models import BlockKind

HOURS_HELP = "For example 08:00–12:00, 13:00–18:00. Empty: closed."


def hours_field(weekday: int) -> str:
    return f"hours_{weekday}"


class ResourceForm(Form):
    kind = forms.ChoiceField(choices=ResourceKind.choices, widget=forms.RadioSelect)
    name = forms.CharField(max_length=resource_services.NAME_MAX)
    make = forms.CharField(required=False, max_length=resource_services.DEVICE_FIELD_MAX)
    model = forms.CharField(required=False, max_length=resource_services.DEVICE_FIELD_MAX)
    coil = forms.CharField(
        required=False,
        max_length=resource_services.DEVICE_FIELD_MAX,
        help_text="The coil the device treats with, e.g. figure-8 or H1.",
    )
    ordering = forms.IntegerField(
        min_value=0,
        max_value=resource_services.ORDERING_MAX,
        initial=0,
        label="Column order",
        help_text="Lower numbers stand further left in the day view.",
    )
    is_active = forms.BooleanField(
        required=False,
        initial=True,
        label="In use",
        help_text="Out of use: nothing new is booked on it; its appointments and history stay.",
    )

    def __init__(self, *args, editing: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for weekday, day in enumerate(weekly_hours.DAY_NAMES):
            self.fields[hours_field(weekday)] = forms.CharField(
                required=False,
                max_length=120,
                label=day,
                widget=forms.TextInput(attrs={"placeholder": "Closed", "autocomplete": "off"}),
            )
        if not editing:
            del self.fields["is_active"]

    def hours_fields(self) -> list:
        return [self[hours_field(weekday)] for weekday in range(7)]

    def detail_fields(self) -> list:
        return [self["name"], self["ordering"]]

    def device_fields(self) -> list:
        return [self["make"], self["model"], self["coil"]]

    def clean(self):
        values = super().clean()
        for weekday, day in enumerate(weekly_hours.DAY_NAMES):
            name = hours_field(weekday)
            if name not in values:
                continue
            try:
                spans = weekly_hours.parse_day(values[name])
                values[name] = weekly_hours.check_day(spans)
            except ValueError as error:
                self.add_error(name, f"{day}: {error}.")
        return values

    def week(self) -> dict[int, list]:
        return {
            weekday: self.cleaned_data[hours_field(weekday)]
            for weekday in range(7)
            if self.cleaned_data.get(hours_field(weekday))
        }

    def values(self) -> dict:
        data = self.cleaned_data
        values = {name: data[name] for name in ("kind", "name", "make", "model", "coil")}
        values["ordering"] = data["ordering"]
        if "is_active" in self.fields:
            values["is_active"] = data["is_active"]
        values["hours"] = self.week()
        return values


def initial_for(resource) -> dict:
    week: dict[int, list] = {}
    for row in resource.opening_hours.all():
        week.setdefault(row.weekday, []).append((row.opens, row.closes))
    initial = {
        "kind": resource.kind,
        "name": resource.name,
        "make": resource.make,
        "model": resource.model,
        "coil": resource.coil,
        "ordering": resource.ordering,
        "is_active": resource.is_active,
    }
    for weekday in range(7):
        initial[hours_field(weekday)] = weekly_hours.day_text(week.get(weekday, ()))
    return initial


class BlockForm(Form):
    kind = forms.ChoiceField(
        choices=BlockKind.choices, widget=forms.RadioSelect, initial=BlockKind.CLOSURE
    )
    start_date = forms.DateField(widget=DATE, label="From (date)")
    start_time = forms.TimeField(widget=TIME, label="From (time)")
    end_date = forms.DateField(widget=DATE, label="Until (date)")
    end_time = forms.TimeField(widget=TIME, label="Until (time)")
    note = forms.CharField(
        required=False,
        max_length=resource_services.NOTE_MAX,
        help_text="What the team should know, e.g. “Coil service by the manufacturer”.",
    )
    # The ids of the covered appointments the administrator was shown, comma-separated.
    confirmed = forms.CharField(required=False, widget=forms.HiddenInput, max_length=20000)

    def clean_confirmed(self) -> list[str]:
        return [part for part in self.cleaned_data["confirmed"].split(",") if part]

    def start(self, tzinfo) -> datetime:
        values = self.cleaned_data
        return datetime.combine(values["start_date"], values["start_time"], tzinfo)

    def end(self, tzinfo) -> datetime:
        values = self.cleaned_data
        return datetime.combine(values["end_date"], values["end_time"], tzinfo)


# A service's field → the form's field that shows its error.
BLOCK_FIELDS = {"start": "start_time", "end": "end_time"}


def place(form: forms.Form, error: InputError) -> None:
    """Show a service's ``InputError`` on the field it names (``hours.0`` → ``hours_0``)."""
    field = error.field
    if field.startswith("hours."):
        field = hours_field(int(field.removeprefix("hours.")))
    field = BLOCK_FIELDS.get(field, field) if isinstance(form, BlockForm) else field
    if field not in form.fields or form.fields[field].widget.is_hidden:
        form.add_error(None, capfirst(f"{error.field}: {error.message}."))
        return
    # The day's name begins an hours message; any other begins with the field's label.
    message = (
        error.message if field.startswith("hours_") else f"{form[field].label} {error.message}"
    )
    form.add_error(field, f"{message}.")
