"""Forms: the plan, a coaching session, a journal entry (staff), and the patient's check-in."""

from django import forms

from trellis.accounts.models import Membership
from trellis.aftercare import checkins
from trellis.aftercare.models import CoachingSession, FollowUpWith, ReferralStatus
from trellis.aftercare.services import JOURNAL_LIMIT, PLAN_TEXT_LIMITS, PlanInput
from trellis.lib.errors import InputError
from trellis.lib.forms import Form


class InputErrorMixin:
    def add_input_error(self, error: InputError) -> None:
        field = {"components": None}.get(error.field, error.field)
        self.add_error(field if field in self.fields else None, error.message)


def _text(limit: int, **kwargs) -> forms.CharField:
    return forms.CharField(
        required=False, max_length=limit, widget=forms.Textarea(attrs={"rows": 3}), **kwargs
    )


class PlanForm(InputErrorMixin, Form):
    """The aftercare plan; the rules are checked once, in ``services.save_plan``."""

    course = forms.ChoiceField(label="Follows the course", required=False)
    check_ins = forms.BooleanField(
        label="Check-ins 24 and 72 hours after each dosing session", required=False
    )
    journal = forms.BooleanField(label="Journal", required=False)
    follow_up = forms.ChoiceField(
        label="Follow-up with",
        choices=FollowUpWith.choices,
        required=False,
    )
    follow_up_clinician = forms.ChoiceField(label="Clinician (within the clinic)", required=False)
    referral_to = forms.CharField(
        label="Referred to (outside the clinic)",
        required=False,
        max_length=PLAN_TEXT_LIMITS["referral_to"],
        help_text="Name, practice and contact, e.g. Dr. R. Okafor, Lakeshore Counselling",
    )
    referral_date = forms.DateField(
        label="Referral date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    referral_status = forms.ChoiceField(
        label="Referral status",
        choices=[("", "—"), *ReferralStatus.choices],
        required=False,
    )
    coaching = forms.BooleanField(label="Health coaching", required=False)
    coaching_goals = _text(PLAN_TEXT_LIMITS["coaching_goals"], label="Coaching goals")
    coaching_sessions_planned = forms.IntegerField(
        label="Coaching sessions planned", required=False, min_value=1, max_value=52
    )
    coaching_progress = _text(PLAN_TEXT_LIMITS["coaching_progress"], label="Coaching progress")
    mindfulness = forms.BooleanField(label="Mindfulness resources", required=False)
    mindfulness_resources = _text(
        PLAN_TEXT_LIMITS["mindfulness_resources"], label="Resources offered"
    )
    group = forms.BooleanField(label="Group", required=False)
    group_reference = forms.CharField(
        label="Group or cohort",
        required=False,
        max_length=PLAN_TEXT_LIMITS["group_reference"],
        help_text="e.g. Integration group, 8 weeks, starting Feb 6",
    )
    notes = _text(PLAN_TEXT_LIMITS["notes"], label="Notes for the care team")

    def __init__(self, *args, patient, courses, **kwargs):
        super().__init__(*args, **kwargs)
        self.courses = {str(c.pk): c for c in courses}
        self.fields["course"].choices = [("", "—")] + [
            (str(c.pk), f"{c.protocol.name}, from {c.start_date:%b %-d, %Y}") for c in courses
        ]
        staff = (
            Membership.objects.filter(clinic_id=patient.clinic_id, is_active=True)
            .exclude(role__in=["front_desk", "clinic_admin"])
            .select_related("user")
            .order_by("user__last_name", "user__username")
        )
        self.fields["follow_up_clinician"].choices = [("", "—")] + [
            (str(m.user_id), f"{m.user.get_full_name() or m.user.username}, {m.get_role_display()}")
            for m in staff
        ]

    @staticmethod
    def initial_from(plan) -> dict:
        if plan is None:
            return {"check_ins": True}
        fields = [name for name in PlanForm.base_fields if name not in ("course",)]
        initial = {name: getattr(plan, name) for name in fields if hasattr(plan, name)}
        initial["course"] = str(plan.course_id or "")
        initial["follow_up_clinician"] = str(plan.follow_up_clinician_id or "")
        return initial

    def plan_input(self) -> PlanInput:
        data = self.cleaned_data
        clinician = data.get("follow_up_clinician")
        return PlanInput(
            course=self.courses.get(data.get("course") or ""),
            check_ins=data["check_ins"],
            journal=data["journal"],
            follow_up=data.get("follow_up") or "",
            follow_up_clinician_id=int(clinician) if clinician else None,
            referral_to=data.get("referral_to") or "",
            referral_date=data.get("referral_date"),
            referral_status=data.get("referral_status") or "",
            coaching=data["coaching"],
            coaching_goals=data.get("coaching_goals") or "",
            coaching_sessions_planned=data.get("coaching_sessions_planned"),
            coaching_progress=data.get("coaching_progress") or "",
            mindfulness=data["mindfulness"],
            mindfulness_resources=data.get("mindfulness_resources") or "",
            group=data["group"],
            group_reference=data.get("group_reference") or "",
            notes=data.get("notes") or "",
        )


class CoachingSessionForm(InputErrorMixin, Form):
    held_on = forms.DateField(label="Held on", widget=forms.DateInput(attrs={"type": "date"}))
    code = forms.ChoiceField(
        label="Code (recorded, not billed)", choices=CoachingSession.CODE_CHOICES
    )
    minutes = forms.IntegerField(label="Minutes", min_value=1, max_value=480)
    participants = forms.IntegerField(
        label="People in the group (0593T)", required=False, min_value=1, max_value=50
    )
    progress = _text(2000, label="Progress")


class JournalEntryForm(InputErrorMixin, Form):
    text = forms.CharField(
        label="The patient's words",
        max_length=JOURNAL_LIMIT,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    shared = forms.TypedChoiceField(
        label="Who may read it",
        choices=[("1", "Shared with the care team"), ("0", "Private to the patient")],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
        initial="1",
    )


class CheckInForm(InputErrorMixin, Form):
    """The patient's check-in, worded for the patient; the harm question has no default."""

    mood = forms.TypedChoiceField(
        label="How is your mood today? (0 = the worst it has been, 10 = the best)",
        choices=[(str(n), str(n)) for n in range(checkins.MOOD_MIN, checkins.MOOD_MAX + 1)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": "Please choose a number for your mood."},
    )
    sleep = forms.TypedChoiceField(
        label="How did you sleep last night?",
        choices=[(str(i), words) for i, words in enumerate(checkins.SLEEP_OPTIONS)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": "Please say how you slept."},
    )
    side_effects = forms.MultipleChoiceField(
        label="Have you noticed any of these since your treatment? (tick any)",
        choices=list(checkins.SIDE_EFFECTS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    harm_thoughts = forms.TypedChoiceField(
        label=checkins.HARM_QUESTION,
        choices=[("no", "No"), ("yes", "Yes")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": "Please answer this question: yes or no."},
    )
    journal = forms.CharField(
        label="Anything you would like to write down? (optional)",
        required=False,
        max_length=JOURNAL_LIMIT,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    share_journal = forms.BooleanField(label="Let my care team read what I wrote", required=False)
