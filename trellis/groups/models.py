"""Group therapy (DOMAIN.md §12): programs that run as cohorts, enrolment with a waitlist, the
sessions' attendance, and one group note with a section for each member.

- A **program** says what the group is ("Integration group, 8 weeks": how many sessions, how
  long each is, who it suits). It runs as **cohorts**: a start date, a weekly time, a room, the
  facilitators and a capacity of at most 12 [R103, R104].
- An **enrolment** is a patient's place in a cohort, or on its waitlist; a place that frees is
  given to the first on the waitlist in the same transaction (``services``).
- Each cohort's **meetings** are its weekly sessions: the room is held for each (a
  ``scheduling.ResourceBlock`` of kind group) and every member has a group appointment.
- **Attendance** is taken once for the room; the **group note** has the shared part (topic,
  interventions, participant count [R103]) and one **member section** per attendee
  (participation, response, risk) [R109]. A member's chart shows the shared part and their own
  section only: never another member's name or section.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from trellis.groups.rules import MAX_CAPACITY
from trellis.lib.models import staff_reference
from trellis.therapy.models import RiskLevel


class GroupProgram(models.Model):
    """What a group is: its name, how many weekly sessions, how long each, who it suits."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, name) unique constraint
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    name = models.CharField(max_length=120)
    sessions = models.PositiveSmallIntegerField(help_text="How many weekly sessions")
    minutes = models.PositiveSmallIntegerField(help_text="How long each session lasts")
    description = models.TextField(
        max_length=2000, blank=True, help_text="Shown on the clinic's public page"
    )
    eligibility_notes = models.TextField(
        max_length=2000, blank=True, help_text="Who the group suits; for staff"
    )
    is_active = models.BooleanField(default=True)
    created_by = staff_reference()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "name"], name="group_program_name_per_clinic")
        ]

    def __str__(self) -> str:
        return self.name


class Cohort(models.Model):
    """One run of a program: from a start date, weekly at one time, in one room."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, start_date) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    program = models.ForeignKey(GroupProgram, on_delete=models.PROTECT, related_name="cohorts")
    start_date = models.DateField()
    start_time = models.TimeField(help_text="Clinic-local time, the same each week")
    room = models.ForeignKey(
        "scheduling.Resource", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    facilitators = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+")
    capacity = models.PositiveSmallIntegerField(default=MAX_CAPACITY)
    # Joining is allowed until this session has begun (1: before the first session only).
    late_join_until = models.PositiveSmallIntegerField(default=2)
    listed = models.BooleanField(
        default=True, help_text="Shown on the clinic's public page while it has not started"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = staff_reference(optional=True)
    cancelled_reason = models.CharField(max_length=300, blank=True)
    created_by = staff_reference()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["start_date", "start_time"]
        indexes = [models.Index(fields=["clinic", "start_date"], name="cohort_clinic_start")]
        constraints = [
            models.CheckConstraint(
                condition=Q(capacity__gte=1) & Q(capacity__lte=MAX_CAPACITY),
                name="cohort_capacity_1_to_12",
            ),
            models.CheckConstraint(condition=Q(late_join_until__gte=1), name="cohort_late_join"),
        ]

    def __str__(self) -> str:
        return f"{self.program.name}, from {self.start_date:%b} {self.start_date.day}"


class EnrolmentStatus(models.TextChoices):
    ENROLLED = "enrolled", "Enrolled"
    WAITLISTED = "waitlisted", "Waitlisted"
    WITHDRAWN = "withdrawn", "Withdrawn"


OPEN_ENROLMENT = (EnrolmentStatus.ENROLLED, EnrolmentStatus.WAITLISTED)


class Enrolment(models.Model):
    """A patient's place in a cohort, or on its waitlist (first in, first promoted)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="enrolments")
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="group_enrolments"
    )
    status = models.CharField(max_length=12, choices=EnrolmentStatus.choices)
    # The waitlist's order: when the patient joined it (or the cohort).
    joined_at = models.DateTimeField(default=timezone.now)
    enrolled_at = models.DateTimeField(null=True, blank=True)
    # Given a place from the waitlist when one freed, rather than enrolled at once.
    promoted_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_reason = models.CharField(max_length=300, blank=True)
    created_by = staff_reference()

    class Meta:
        ordering = ["joined_at"]
        indexes = [models.Index(fields=["cohort", "status", "joined_at"], name="enrolment_queue")]
        constraints = [
            models.UniqueConstraint(
                fields=["cohort", "patient"],
                condition=Q(status__in=OPEN_ENROLMENT),
                name="one_open_enrolment_per_cohort",
            )
        ]

    def __str__(self) -> str:
        return f"Group enrolment {self.pk}"


class Meeting(models.Model):
    """One of a cohort's weekly sessions; the room is held for it by ``room_block``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="meetings")
    number = models.PositiveSmallIntegerField()
    start = models.DateTimeField()
    end = models.DateTimeField()
    day = models.DateField(help_text="The clinic-local date of the start")
    room_block = models.ForeignKey(
        "scheduling.ResourceBlock",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    attendance_taken_at = models.DateTimeField(null=True, blank=True)
    attendance_taken_by = staff_reference(optional=True)

    class Meta:
        ordering = ["cohort", "number"]
        constraints = [
            models.UniqueConstraint(fields=["cohort", "number"], name="meeting_number_per_cohort"),
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="meeting_ends_later"
            ),
        ]

    def __str__(self) -> str:
        return f"Group session {self.number}"


class MeetingBooking(models.Model):
    """A member's group appointment for one meeting, in the appointment book."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="bookings")
    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="bookings")
    appointment = models.OneToOneField(
        "scheduling.Appointment", on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["meeting"]

    def __str__(self) -> str:
        return f"Group booking {self.pk}"


class AttendanceStatus(models.TextChoices):
    PRESENT = "present", "Present"
    LATE = "late", "Late"
    LEFT_EARLY = "left_early", "Left early"
    ABSENT = "absent", "Absent"


# Who took part in the session: counted as participants [R103] and billed [R104].
ATTENDED = frozenset({AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY})


class Attendance(models.Model):
    """Whether one member came to one meeting; at the note's signing, what billing needs: the
    code and units for an attendee present (90853, one each [R104]) and the participant count
    the record must hold [R103]."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="attendance")
    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="attendance")
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="group_attendance"
    )
    status = models.CharField(max_length=12, choices=AttendanceStatus.choices)
    recorded_by = staff_reference()
    recorded_at = models.DateTimeField(default=timezone.now)
    # Set when the group note is signed, and never after.
    billing_code = models.CharField(max_length=8, blank=True)
    billing_units = models.PositiveSmallIntegerField(default=0)
    participant_count = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["meeting", "patient"]
        indexes = [models.Index(fields=["patient", "meeting"], name="attendance_patient")]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "patient"], name="one_attendance_each")
        ]

    def __str__(self) -> str:
        return f"Group attendance {self.pk}"

    @property
    def attended(self) -> bool:
        return self.status in ATTENDED


class NoteStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed"


class GroupNote(models.Model):
    """The shared part of a meeting's note: what the group worked on, never who said what.
    Signed, it never changes; corrections are addenda."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    meeting = models.OneToOneField(Meeting, on_delete=models.PROTECT, related_name="note")
    author = staff_reference()
    topic = models.CharField(max_length=300, blank=True)
    interventions = models.TextField(max_length=5000, blank=True)
    # Required in the record of a 90853 group [R103]: counted from the attendance.
    participant_count = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=8, choices=NoteStatus.choices, default=NoteStatus.DRAFT)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = staff_reference(optional=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Group note {self.pk}"

    @property
    def is_signed(self) -> bool:
        return self.status == NoteStatus.SIGNED


class MemberSection(models.Model):
    """One attendee's part of the group note [R109]: seen on their chart and nobody else's."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    note = models.ForeignKey(GroupNote, on_delete=models.PROTECT, related_name="sections")
    attendance = models.OneToOneField(Attendance, on_delete=models.PROTECT, related_name="section")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    participation = models.TextField(max_length=3000, blank=True)
    response = models.TextField(max_length=3000, blank=True)
    risk_level = models.CharField(max_length=12, choices=RiskLevel.choices, default=RiskLevel.NONE)
    risk_notes = models.TextField(max_length=3000, blank=True)
    alert = models.ForeignKey(
        "safety.SafetyAlert", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["note"]
        indexes = [models.Index(fields=["patient"], name="member_section_patient")]

    def __str__(self) -> str:
        return f"Group note section {self.pk}"


class GroupNoteAddendum(models.Model):
    """A correction to a signed group note: to its shared part (``section`` empty), or to one
    member's section, which only that member's chart shows."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    note = models.ForeignKey(GroupNote, on_delete=models.PROTECT, related_name="addenda")
    section = models.ForeignKey(
        MemberSection, on_delete=models.PROTECT, null=True, blank=True, related_name="addenda"
    )
    author = staff_reference()
    reason = models.CharField(max_length=200)
    text = models.TextField(max_length=5000)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Group note addendum {self.pk}"


class InterestStatus(models.TextChoices):
    NEW = "new", "New"
    ENROLLED = "enrolled", "Enrolled or waitlisted"
    DECLINED = "declined", "Declined"


class InterestSource(models.TextChoices):
    PUBLIC = "public", "Public page"
    PORTAL = "portal", "Patient portal"


class GroupInterest(models.Model):
    """Someone asking to join a group: from the clinic's public page (anyone, matched to a
    patient by staff), or a registered patient from their portal (``patient`` known at once)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, status, submitted_at) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    cohort = models.ForeignKey(
        Cohort, on_delete=models.PROTECT, null=True, blank=True, related_name="interests"
    )
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    message = models.TextField(max_length=1000, blank=True)
    consent_to_contact = models.BooleanField(default=False)
    status = models.CharField(
        max_length=10, choices=InterestStatus.choices, default=InterestStatus.NEW
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    source = models.CharField(
        max_length=8, choices=InterestSource.choices, default=InterestSource.PUBLIC
    )
    handled_by = staff_reference(optional=True)
    submitted_at = models.DateTimeField(default=timezone.now, editable=False)
    # A keyed hash of the sender's address: enough to rate-limit, not enough to identify.
    sender_key = models.CharField(max_length=64, blank=True, editable=False, db_index=True)

    class Meta:
        ordering = ["-submitted_at"]
        indexes = [
            models.Index(fields=["clinic", "status", "submitted_at"], name="group_interest_queue")
        ]
        constraints = [
            # A portal request needs no contact of its own: the clinic has the patient's.
            models.CheckConstraint(
                condition=~Q(phone="", email="") | Q(source="portal", patient__isnull=False),
                name="group_interest_has_a_contact",
            ),
            # One unanswered request at a time from a patient for a cohort.
            models.UniqueConstraint(
                fields=["cohort", "patient"],
                condition=Q(status="new", patient__isnull=False),
                name="one_new_interest_per_patient_cohort",
            ),
        ]

    def __str__(self) -> str:
        return f"Group interest {self.pk}"
