"""The groups' forms: they read what was typed; the services check the rules and name the field
that breaks one."""

from __future__ import annotations

from django import forms

from trellis.accounts.models import Membership, User
from trellis.accounts.permissions import Perm
from trellis.groups import rules
from trellis.groups.models import Cohort
from trellis.lib.forms import Form
from trellis.scheduling.kinds import ResourceKind
from trellis.scheduling.models import Resource

DATE = forms.DateInput(attrs={"type": "date"})
TIME = forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M")


class ProgramForm(Form):
    name = forms.CharField(max_length=120, help_text='e.g. "Integration group, 8 weeks"')
    sessions = forms.IntegerField(min_value=1, max_value=rules.MAX_SESSIONS, initial=8)
    minutes = forms.IntegerField(
        label="Minutes each",
        min_value=rules.MIN_MINUTES,
        max_value=rules.MAX_MINUTES,
        initial=90,
        help_text="Groups billed as 90853 typically last 45–60 minutes [R103]",
    )
    description = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown on the clinic's public page",
    )
    eligibility_notes = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Who the group suits, for staff (members are screened for fit [R96])",
    )


class CohortForm(Form):
    start_date = forms.DateField(widget=DATE)
    start_time = forms.TimeField(label="Weekly at", widget=TIME)
    room = forms.ModelChoiceField(queryset=Resource.objects.none())
    facilitators = forms.ModelMultipleChoiceField(
        queryset=None, widget=forms.CheckboxSelectMultiple
    )
    capacity = forms.IntegerField(
        min_value=1,
        max_value=rules.MAX_CAPACITY,
        initial=rules.MAX_CAPACITY,
        help_text="At most 12 for 90853 [R103]; 8–10 is typical [R104]",
    )
    late_join_until = forms.IntegerField(
        label="Joining allowed until session",
        min_value=1,
        initial=2,
        help_text="A patient may still join until this session begins",
    )
    listed = forms.BooleanField(
        required=False, initial=True, label="List on the clinic's public page"
    )

    def __init__(self, clinic, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["room"].queryset = Resource.objects.filter(
            clinic=clinic, kind=ResourceKind.ROOM, is_active=True
        )
        leaders = [
            m.user_id
            for m in Membership.objects.filter(clinic=clinic, is_active=True)
            if m.can(Perm.GROUP_DOCUMENT)
        ]
        self.fields["facilitators"].queryset = User.objects.filter(pk__in=leaders).order_by(
            "last_name", "first_name", "username"
        )
        self.fields["facilitators"].label_from_instance = lambda u: u.get_full_name() or u.username


class CohortEditForm(CohortForm):
    """The planned cohort's weekly time, room, facilitators, late joining and listing (its
    start date and capacity are set elsewhere: the start by moving the first session, the
    capacity on the cohort's page)."""

    def __init__(self, clinic, *args, **kwargs) -> None:
        super().__init__(clinic, *args, **kwargs)
        del self.fields["start_date"]
        del self.fields["capacity"]
        self.fields[
            "start_time"
        ].help_text = "The sessions still to come move to this time; sessions held never change"


class MeetingMoveForm(Form):
    day = forms.DateField(label="New date", widget=DATE)
    start_time = forms.TimeField(label="At", widget=TIME)


class EnrolForm(Form):
    mrn = forms.CharField(label="Patient's MRN", max_length=40)


class InterestEnrolForm(Form):
    cohort = forms.ModelChoiceField(queryset=Cohort.objects.none(), empty_label=None)

    def __init__(self, cohorts, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cohort"].queryset = Cohort.objects.filter(pk__in=[c.pk for c in cohorts])
        self.fields["cohort"].label_from_instance = lambda c: (
            f"{c.program.name}, from {c.start_date:%b} {c.start_date.day}"
        )


class WithdrawForm(Form):
    reason = forms.CharField(max_length=300)


class CancelCohortForm(Form):
    reason = forms.CharField(
        label="Why the cohort is cancelled",
        max_length=280,
        help_text="Kept on the cohort and on each member's place; the patients are told the "
        "group is cancelled, not why",
    )


class CapacityForm(Form):
    capacity = forms.IntegerField(min_value=1, max_value=rules.MAX_CAPACITY)


class AddendumForm(Form):
    reason = forms.CharField(max_length=200)
    text = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))


class InterestForm(Form):
    """The public page's form: like the assessment request's, with the group chosen."""

    cohort = forms.ModelChoiceField(
        queryset=Cohort.objects.none(),
        required=False,
        empty_label="Any upcoming group",
        label="Which group?",
    )
    given_name = forms.CharField(
        label="First name",
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    family_name = forms.CharField(
        label="Last name",
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    phone = forms.CharField(
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    email = forms.EmailField(
        required=False, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    message = forms.CharField(
        label="Anything you would like us to know? (optional)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 1000}),
    )
    consent_to_contact = forms.BooleanField(
        required=False, label="You may contact me by phone or e-mail about joining a group."
    )
    # Bots fill every field; people never see this one.
    website = forms.CharField(
        required=False,
        label="Leave this empty",
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, cohorts, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cohort"].queryset = Cohort.objects.filter(pk__in=[c.pk for c in cohorts])
        self.fields["cohort"].label_from_instance = lambda c: (
            f"{c.program.name} — starts {c.start_date:%B} {c.start_date.day}"
        )

    def clean_consent_to_contact(self) -> bool:
        if not self.cleaned_data.get("consent_to_contact"):
            raise forms.ValidationError("We can only reply if you agree to be contacted.")
        return True

    def clean(self):
        data = super().clean()
        blank = not (data.get("phone") or "").strip() and not (data.get("email") or "").strip()
        if blank and "phone" not in self.errors and "email" not in self.errors:
            self.add_error("phone", "Give a phone number or an e-mail address.")
        return data

    def is_bot(self) -> bool:
        return bool(self.data.get("website"))
