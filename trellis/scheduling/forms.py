"""Forms of the calendar pages: booking, moving, a change of status, a course's rows.

The rules are the services'; these only read what a person typed, and place a service's error
on the field it names (``place_error``).
"""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.utils.text import capfirst

from trellis.lib.errors import Conflict, InputError
from trellis.lib.forms import Form
from trellis.scheduling import kinds, services
from trellis.scheduling.kinds import AppointmentKind, ResourceKind

DATE = forms.DateInput(attrs={"type": "date"})
TIME = forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M")

# A service's field → the form's field that shows its error.
FIELD_FOR = {"start": "time", "day": "date"}


def resource_choices(resources, kind: str | None = None) -> list:
    """The resources as grouped choices (chairs, rooms, TMS devices), only those suited to
    ``kind`` when one is given."""
    suitable = kinds.SUITABLE_RESOURCES.get(kind) if kind else None
    groups = []
    for resource_kind, label in ResourceKind.choices:
        if suitable is not None and resource_kind not in suitable:
            continue
        rows = [(str(r.pk), r.name) for r in resources if r.kind == resource_kind]
        if rows:
            groups.append((label, rows))
    return [("", "No resource"), *groups]


def place_error(form: forms.Form, error: InputError | Conflict) -> None:
    """Show a service's error on the field it names: an ``InputError``'s ``field``, or a
    conflict's message that begins "resource: …", "patient: …", "kind: …"."""
    if isinstance(error, InputError):
        field, message = error.field, error.message
    else:
        field, _, rest = error.message.partition(": ")
        message = rest if rest and field.isidentifier() else error.message
        if not rest or not field.isidentifier():
            field = ""
    field = FIELD_FOR.get(field, field)
    if field not in form.fields or form.fields[field].widget.is_hidden:
        field = None
    form.add_error(field, capfirst(message))


class _ResourceField(forms.ChoiceField):
    """A resource of the clinic by id, as the ``Resource`` (or None)."""

    def __init__(self, resources, kind: str | None = None, **kwargs) -> None:
        self.by_id = {str(r.pk): r for r in resources}
        super().__init__(choices=resource_choices(resources, kind), required=False, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        return self.by_id.get(value) if value else None


class BookForm(Form):
    patient = forms.UUIDField(widget=forms.HiddenInput)
    kind = forms.ChoiceField(choices=AppointmentKind.choices)
    date = forms.DateField(widget=DATE)
    time = forms.TimeField(widget=TIME)
    minutes = forms.IntegerField(
        required=False, min_value=kinds.MIN_MINUTES, max_value=kinds.MAX_MINUTES
    )
    staff = forms.ChoiceField(required=False, label="Staff member")
    override_reason = forms.CharField(
        required=False,
        max_length=services.OVERRIDE_REASON_MAX,
        label="Second dose today: why",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Prescribers only: allows a second ketamine-family dose on one clinic day.",
    )

    def __init__(self, *args, resources, staff, kind=None, may_override=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resource"] = _ResourceField(resources, kind)
        self.staff_by_id = {str(u.pk): u for u in staff}
        self.fields["staff"].choices = [("", "—")] + [
            (str(u.pk), u.get_full_name() or u.username) for u in staff
        ]
        if not may_override:
            del self.fields["override_reason"]
        # The resource after the time, as a person reads the form.
        self.order_fields(["patient", "kind", "date", "time", "minutes", "resource", "staff"])

    def clean_staff(self):
        value = self.cleaned_data["staff"]
        return self.staff_by_id.get(value) if value else None

    def start(self, tzinfo) -> datetime:
        return datetime.combine(self.cleaned_data["date"], self.cleaned_data["time"], tzinfo)


class MoveForm(Form):
    date = forms.DateField(widget=DATE)
    time = forms.TimeField(widget=TIME)

    def __init__(self, *args, resources, kind, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resource"] = _ResourceField(resources, kind)


class StatusForm(Form):
    status = forms.ChoiceField(choices=kinds.AppointmentStatus.choices)
    reason = forms.CharField(
        required=False, max_length=services.STATUS_REASON_MAX, widget=forms.Textarea
    )


class CourseRowForm(Form):
    """One planned session of a course: when and where it is booked."""

    date = forms.DateField(widget=DATE)
    time = forms.TimeField(widget=TIME)

    def __init__(self, *args, resources, kind, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resource"] = _ResourceField(resources, kind)
