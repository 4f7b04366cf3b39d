"""Protocols, courses, their sessions and what is documented at each.

Columns naming a member of staff (``created_by``, ``signed_by``, ``recorded_by``, ``author`` …)
are not indexed: no page or report looks rows up by their author, and staff are deactivated,
never deleted (the admin refuses to), so no foreign-key check looks for them either. Nor is the
``clinic`` of a vital sign, motor threshold or addendum: those rows are reached through their
session or patient.
"""

import uuid
from datetime import date

from django.conf import settings
from django.db import models
from django.utils import timezone

from trellis.lib.models import staff_reference
from trellis.patients.modality import Modality
from trellis.treatments import prescribing, rems, schedule, urinary

MODALITY_CHOICES = Modality.choices


class Protocol(models.Model):
    """A treatment plan that becomes a calendar. Built-in (no clinic) or a clinic's own."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, code) unique constraint
    clinic = models.ForeignKey(
        "accounts.Clinic",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="protocols",
        db_index=False,
    )
    code = models.SlugField(max_length=60)
    modality = models.CharField(max_length=16, choices=MODALITY_CHOICES)
    name = models.CharField(max_length=120)
    schedule = models.CharField(
        max_length=40,
        choices=[(code, code) for code in schedule.PROTOCOL_CODES],
        help_text="The calendar the sessions follow",
    )
    sessions = models.PositiveSmallIntegerField(help_text="Sessions in a full course")
    description = models.TextField(blank=True)
    defaults = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["modality", "name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "code"], name="protocol_code_per_clinic"),
            models.UniqueConstraint(
                fields=["code"],
                condition=models.Q(clinic__isnull=True),
                name="builtin_protocol_code_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ClosureDay(models.Model):
    """A day a clinic is shut besides weekends: no session is planned on it."""

    # covered by the (clinic, date) unique constraint
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.CASCADE, related_name="closures", db_index=False
    )
    date = models.DateField()
    reason = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "date"], name="one_closure_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.reason}"


class CourseStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    STOPPED = "stopped", "Stopped"


class Course(models.Model):
    """One patient's run of a protocol, started from a signed screening."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, modality, start_date) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="courses"
    )
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="courses")
    modality = models.CharField(max_length=16, choices=MODALITY_CHOICES)
    start_date = models.DateField()
    status = models.CharField(
        max_length=12, choices=CourseStatus.choices, default=CourseStatus.ACTIVE
    )
    screening = models.ForeignKey(
        "patients.Screening", on_delete=models.PROTECT, related_name="courses"
    )
    override_reason = models.TextField(blank=True)
    override_by = staff_reference(optional=True)
    payer = models.CharField(max_length=120, blank=True)
    authorization_ref = models.CharField("authorisation reference", max_length=60, blank=True)
    authorized_units = models.PositiveSmallIntegerField(
        "authorised sessions",
        null=True,
        blank=True,
        help_text="Sessions the payer authorised; empty when self-pay or not needed",
    )
    created_by = staff_reference()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)
    # Esketamine only: the oral antidepressant given with it, or monotherapy (concomitant.py).
    concomitant_antidepressant = models.CharField(
        "concomitant oral antidepressant", max_length=120, blank=True
    )
    concomitant_dose = models.CharField("its dose", max_length=60, blank=True)
    concomitant_started_on = models.DateField("started on", null=True, blank=True)
    esketamine_monotherapy = models.BooleanField(
        "esketamine monotherapy",
        default=False,
        help_text="Esketamine without an oral antidepressant: for TRD since 21 January 2025",
    )

    class Meta:
        ordering = ["-start_date", "-created_at"]
        indexes = [
            models.Index(fields=["clinic", "modality", "start_date"]),
            # A clinic's rows in key order, a chunk at a time (FHIR $export reads them so).
            models.Index(fields=["clinic", "id"], name="course_clinic_key_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.protocol.name} for {self.patient} from {self.start_date}"

    def concomitant_text(self) -> str:
        """The esketamine course's oral antidepressant in words, or "" for other courses."""
        if self.esketamine_monotherapy:
            return "Monotherapy (no oral antidepressant)"
        if not self.concomitant_antidepressant:
            return ""
        started = self.concomitant_started_on
        return f"{self.concomitant_antidepressant} {self.concomitant_dose}" + (
            f", since {started:%-d %b %Y}" if started else ""
        )


class SessionStatus(models.TextChoices):
    """Where a session stands (the API's values, DESIGN.md §5.1).

    ``booked`` is for the appointment book; nothing sets it yet. A session ends in one of four
    ways: ``signed`` (given and documented: the only delivered one), ``cancelled`` (called off
    beforehand), ``no_show`` (the patient did not come) or ``not_given`` (the patient came, the
    session may have begun, but the treatment was not given, e.g. blood pressure too high before
    the dose). None of the last three is delivered or uses a payer's authorised session.
    """

    PLANNED = "planned", "Planned"
    BOOKED = "booked", "Booked"
    IN_PROGRESS = "in_progress", "In progress"
    SIGNED = "signed", "Signed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"
    NOT_GIVEN = "not_given", "Not given"


# Not yet over: a later session waits for these (see ``sessions.begin_session``).
OPEN_STATUSES = (SessionStatus.PLANNED, SessionStatus.BOOKED, SessionStatus.IN_PROGRESS)
# Over without treatment given: not delivered, no authorised session used, nothing left to do.
UNDELIVERED_STATUSES = (SessionStatus.CANCELLED, SessionStatus.NO_SHOW, SessionStatus.NOT_GIVEN)


# A session is *delivered* once it is signed: given and documented. The one definition, for the
# course and patient pages, the API, the chart of treatment days and the dose history; a signature
# counts whatever the status says (sessions signed before statuses were kept). Cancelled, no-show
# and not-given sessions are not delivered and use none of the payer's authorised sessions.
def delivered_q(prefix: str = "") -> models.Q:
    """Delivered sessions as a filter: on sessions, or through a relation (``"sessions__"``)."""
    return models.Q(**{f"{prefix}status": SessionStatus.SIGNED}) | models.Q(
        **{f"{prefix}signed_at__isnull": False}
    )


def undelivered_q(prefix: str = "") -> models.Q:
    """Sessions over without treatment (cancelled, no-show, not given) as a filter."""
    return models.Q(**{f"{prefix}status__in": UNDELIVERED_STATUSES})


class SessionQuerySet(models.QuerySet):
    def delivered(self) -> "SessionQuerySet":
        return self.filter(delivered_q())

    def undelivered(self) -> "SessionQuerySet":
        return self.filter(undelivered_q())


class Session(models.Model):
    """One treatment visit of a course: planned, then documented and signed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, planned_date) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="sessions"
    )
    # covered by the (course, number) unique constraint
    course = models.ForeignKey(
        Course, on_delete=models.PROTECT, related_name="sessions", db_index=False
    )
    number = models.PositiveSmallIntegerField()
    planned_date = models.DateField()
    planned_time = models.TimeField(null=True, blank=True)
    phase = models.CharField(max_length=16)
    status = models.CharField(
        max_length=12, choices=SessionStatus.choices, default=SessionStatus.PLANNED
    )
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    documented_by = staff_reference(optional=True)
    signed_by = staff_reference(optional=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    # Begun on another day than planned, or before the session ahead of it was over: the
    # prescriber who allowed it, why, and the day it had been planned for (``planned_date`` is
    # then the day it was given).
    begin_override_reason = models.TextField(blank=True)
    begin_override_by = staff_reference(optional=True)
    planned_date_before_begin = models.DateField(null=True, blank=True)
    # Cancelled, no-show or not given: who said so, when and why.
    closed_reason = models.TextField(blank=True)
    closed_by = staff_reference(optional=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = SessionQuerySet.as_manager()

    class Meta:
        ordering = ["course", "number"]
        constraints = [
            models.UniqueConstraint(fields=["course", "number"], name="session_number_in_course")
        ]
        indexes = [
            models.Index(fields=["clinic", "planned_date"]),
            # A clinic's rows in key order, a chunk at a time (FHIR $export reads them so).
            models.Index(fields=["clinic", "id"], name="session_clinic_key_idx"),
            # The open notes (begun, not yet signed) of a clinic: the home pages' "to sign"
            # lists read the few in progress, not every session the clinic ever planned.
            models.Index(
                fields=["clinic", "planned_date"],
                condition=models.Q(status="in_progress"),
                name="session_open_note_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Session {self.number} of {self.course}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    @property
    def is_open(self) -> bool:
        """Not over yet: planned, booked or in progress."""
        return self.status in OPEN_STATUSES

    @property
    def is_delivered(self) -> bool:
        """``delivered_q`` for a session already in memory."""
        return self.status == SessionStatus.SIGNED or self.signed_at is not None

    @property
    def is_undelivered(self) -> bool:
        """Over without treatment: cancelled, no-show or not given."""
        return self.status in UNDELIVERED_STATUSES


class VitalSign(models.Model):
    """One set of vital signs during a session, flagged against the clinic's thresholds."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="vitals")
    taken_at = models.DateTimeField()
    label = models.CharField(
        max_length=40, blank=True, help_text="e.g. pre-dose, 40 min, pre-discharge"
    )
    bp_systolic = models.PositiveSmallIntegerField(null=True, blank=True)
    bp_diastolic = models.PositiveSmallIntegerField(null=True, blank=True)
    heart_rate = models.PositiveSmallIntegerField(null=True, blank=True)
    spo2 = models.PositiveSmallIntegerField("SpO₂", null=True, blank=True)
    respiratory_rate = models.PositiveSmallIntegerField(null=True, blank=True)
    flags = models.JSONField(default=list, blank=True)
    recorded_by = staff_reference()
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["taken_at"]
        indexes = [
            # A clinic's rows in key order, a chunk at a time (FHIR $export reads them so).
            models.Index(fields=["clinic", "id"], name="vitalsign_clinic_key_idx"),
        ]

    def __str__(self) -> str:
        return f"Vitals at {self.taken_at:%H:%M}"

    @property
    def bp(self) -> str:
        if self.bp_systolic is None:
            return ""
        return f"{self.bp_systolic}/{self.bp_diastolic}"

    # The columns of a reading in the session's table, each with the fields whose flags it shows.
    COLUMNS = (
        ("bp", ("bp_systolic", "bp_diastolic")),
        ("heart_rate", ("heart_rate",)),
        ("spo2", ("spo2",)),
        ("respiratory_rate", ("respiratory_rate",)),
    )

    @property
    def cells(self) -> list[tuple[str | int | None, list[dict]]]:
        """The reading's table cells in ``COLUMNS`` order: the value and the flags on it."""
        return [
            (getattr(self, name), [f for f in self.flags if f["field"] in fields])
            for name, fields in self.COLUMNS
        ]


class InfusionRecord(models.Model):
    """IV ketamine: the dose and pump arithmetic, dissociation, sedation, discharge."""

    session = models.OneToOneField(
        Session, on_delete=models.PROTECT, primary_key=True, related_name="infusion"
    )
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    weight_measured_on = models.DateField(null=True, blank=True)
    dose_mg_per_kg = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    vial_mg_per_ml = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    diluent_ml = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    dose_mg = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    drug_ml = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    total_ml = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    bag_mg_per_ml = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    rate_ml_per_h = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    dose_override_reason = models.TextField(blank=True)
    dose_override_by = staff_reference(optional=True)
    infusion_started_at = models.DateTimeField(null=True, blank=True)
    infusion_ended_at = models.DateTimeField(null=True, blank=True)
    cadss6 = models.JSONField(
        default=list, blank=True, help_text="CADSS items 1, 2, 6, 7, 15, 22, each 0–4 [R14]"
    )
    moaas_lowest = models.PositiveSmallIntegerField("lowest MOAA/S", null=True, blank=True)
    side_effects = models.JSONField(default=list, blank=True)
    discharge_vitals_in_range = models.BooleanField(null=True, blank=True)
    discharge_moaas_5 = models.BooleanField(null=True, blank=True)
    escort_present = models.BooleanField(null=True, blank=True)
    discharged_at = models.DateTimeField(null=True, blank=True)
    # Retired: the free-text therapist's note from before progress notes (trellis/therapy).
    # Kept so that no word is lost and shown read only on the session page; nothing writes it.
    therapy_note = models.TextField(blank=True)
    note = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Infusion for {self.session}"


class EsketamineRecord(models.Model):
    """Esketamine dosing and its monitoring, the source of the REMS Patient Monitoring Form."""

    session = models.OneToOneField(
        Session, on_delete=models.PROTECT, primary_key=True, related_name="esketamine"
    )
    dose_mg = models.PositiveSmallIntegerField(null=True, blank=True)
    lot_numbers = models.CharField(max_length=200, blank=True)
    first_device_at = models.DateTimeField(null=True, blank=True)
    first_treatment = models.BooleanField(null=True, blank=True)
    co_medications = models.JSONField(default=list, blank=True)
    vitals_acceptable_pre = models.BooleanField(null=True, blank=True)
    sedation = models.BooleanField(null=True, blank=True)
    sedation_resolved_at = models.DateTimeField(null=True, blank=True)
    dissociation = models.BooleanField(null=True, blank=True)
    dissociation_resolved_at = models.DateTimeField(null=True, blank=True)
    respiratory_depression = models.BooleanField(null=True, blank=True)
    respiratory_depression_resolved_at = models.DateTimeField(null=True, blank=True)
    ready_to_leave_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the patient would have been ready to leave without the 2-hour rule",
    )
    monitoring_ended_at = models.DateTimeField(null=True, blank=True)
    vitals_acceptable_end = models.BooleanField(null=True, blank=True)
    side_effects = models.JSONField(default=list, blank=True)
    # Retired: the free-text therapist's note from before progress notes (trellis/therapy).
    # Kept so that no word is lost and shown read only on the session page; nothing writes it.
    therapy_note = models.TextField(blank=True)
    note = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Esketamine for {self.session}"

    @property
    def devices(self) -> int | None:
        # One device = 28 mg (a spray in each nostril) [R22].
        return self.dose_mg // 28 if self.dose_mg else None

    @property
    def monitoring_minutes(self) -> int | None:
        if self.first_device_at is None or self.monitoring_ended_at is None:
            return None
        return int((self.monitoring_ended_at - self.first_device_at).total_seconds() // 60)


class OralRoute(models.TextChoices):
    ORAL = "oral", "Oral (swallowed)"
    SUBLINGUAL = "sublingual", "Sublingual"


class OralForm(models.TextChoices):
    TABLET = "tablet", "Tablet"
    LOZENGE = "lozenge", "Lozenge"
    TROCHE = "troche", "Troche"


class OralDoseRecord(models.Model):
    """Oral or sublingual ketamine given in the clinic: the dose, when, and the monitoring and
    discharge of an IV session (DOMAIN.md §9: escort and no driving as for IV [R10])."""

    session = models.OneToOneField(
        Session, on_delete=models.PROTECT, primary_key=True, related_name="oral"
    )
    route = models.CharField(max_length=12, choices=OralRoute.choices, blank=True)
    form = models.CharField(max_length=12, choices=OralForm.choices, blank=True)
    dose_mg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    given_at = models.DateTimeField(null=True, blank=True)
    lot_number = models.CharField(max_length=60, blank=True)
    dose_override_reason = models.TextField(blank=True)
    dose_override_by = staff_reference(optional=True)
    cadss6 = models.JSONField(
        default=list, blank=True, help_text="CADSS items 1, 2, 6, 7, 15, 22, each 0–4 [R14]"
    )
    moaas_lowest = models.PositiveSmallIntegerField("lowest MOAA/S", null=True, blank=True)
    side_effects = models.JSONField(default=list, blank=True)
    discharge_vitals_in_range = models.BooleanField(null=True, blank=True)
    discharge_moaas_5 = models.BooleanField(null=True, blank=True)
    escort_present = models.BooleanField(null=True, blank=True)
    escort_name = models.CharField(max_length=120, blank=True)
    discharged_at = models.DateTimeField(null=True, blank=True)
    # Retired: the free-text therapist's note from before progress notes (trellis/therapy).
    # Kept so that no word is lost and shown read only on the session page; nothing writes it.
    therapy_note = models.TextField(blank=True)
    note = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Oral ketamine for {self.session}"


# --- At-home oral and sublingual ketamine (DOMAIN.md §9; rules in prescribing.py) ---------------


class PdmpResult(models.TextChoices):
    NO_CONCERNS = "no_concerns", "No concerns"
    CONCERNS = "concerns", "Concerns found"


class PdmpCheck(models.Model):
    """A look at the state prescription drug monitoring programme before prescribing [R89]."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    checked_on = models.DateField()
    result = models.CharField(max_length=12, choices=PdmpResult.choices)
    note = models.TextField(blank=True)
    checked_by = staff_reference()
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-checked_on", "-recorded_at"]

    def __str__(self) -> str:
        return f"PDMP check on {self.checked_on}"


class UdsResult(models.TextChoices):
    EXPECTED = "expected", "As expected"
    UNEXPECTED = "unexpected", "Unexpected"


class UrineDrugScreen(models.Model):
    """A urine drug screen's result, asked for when the clinic requires one [R89]."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    collected_on = models.DateField()
    result = models.CharField(max_length=12, choices=UdsResult.choices)
    substances = models.CharField(
        max_length=200, blank=True, help_text="What was found that was not expected"
    )
    note = models.TextField(blank=True)
    recorded_by = staff_reference()
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-collected_on", "-recorded_at"]

    def __str__(self) -> str:
        return f"Urine drug screen of {self.collected_on}"


class PrescribingBasis(models.TextChoices):
    IN_PERSON = "in_person", "In-person examination"
    TELEMEDICINE = "telemedicine", "Telemedicine (DEA flexibilities)"


class OralPrescription(models.Model):
    """Compounded (503A) ketamine tablets or troches for use at home [R85]: a Schedule III
    prescription, never changed once issued (a new one replaces it)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="oral_prescriptions"
    )
    course = models.ForeignKey(
        Course, on_delete=models.PROTECT, null=True, blank=True, related_name="prescriptions"
    )
    product = models.CharField(max_length=120, help_text="e.g. Ketamine HCl sublingual troche")
    pharmacy = models.CharField(max_length=200, help_text="The 503A compounding pharmacy")
    form = models.CharField(max_length=12, choices=OralForm.choices)
    route = models.CharField(max_length=12, choices=OralRoute.choices)
    strength_mg = models.DecimalField(max_digits=5, decimal_places=1)
    units_per_dose = models.PositiveSmallIntegerField(default=1)
    quantity = models.PositiveSmallIntegerField()
    days_supply = models.PositiveSmallIntegerField()
    directions = models.TextField()
    refills = models.PositiveSmallIntegerField(default=0)
    basis = models.CharField(max_length=14, choices=PrescribingBasis.choices)
    peer_monitor_name = models.CharField(max_length=120)
    peer_monitor_relationship = models.CharField(max_length=60, blank=True)
    issued_on = models.DateField()
    issued_at = models.DateTimeField(default=timezone.now, editable=False)
    prescriber = staff_reference()
    pdmp_check = models.ForeignKey(PdmpCheck, on_delete=models.PROTECT, related_name="+")
    urine_drug_screen = models.ForeignKey(
        UrineDrugScreen, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Issued before the previous supply should have run out, less the clinic's tolerance.
    early_days = models.PositiveSmallIntegerField(null=True, blank=True)
    early_reason = models.TextField(blank=True)
    # Cancelled by the prescriber (the pharmacy told to void it): no fill after, and the
    # check-ins still to come are not sent.
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = staff_reference(optional=True)
    cancel_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-issued_on", "-issued_at"]

    def __str__(self) -> str:
        return f"{self.product} {self.strength_mg} mg × {self.quantity}"

    @property
    def dose_mg(self):
        return self.strength_mg * self.units_per_dose

    @property
    def void_on(self) -> date:
        return prescribing.void_on(self.issued_on)


class PrescriptionFill(models.Model):
    """The pharmacy dispensed the prescription (its first fill, or a refill), as the pharmacy
    or the PDMP reports it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    prescription = models.ForeignKey(
        OralPrescription, on_delete=models.PROTECT, related_name="fills"
    )
    filled_on = models.DateField()
    early_days = models.PositiveSmallIntegerField(null=True, blank=True)
    recorded_by = staff_reference()
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["filled_on", "recorded_at"]

    def __str__(self) -> str:
        return f"Fill of {self.filled_on}"


class BladderCheck(models.Model):
    """The six bladder and urinary symptoms asked at an oral session or a follow-up [R90, R10].
    A yes raises a safety alert in the same transaction (``alert``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="bladder_checks"
    )
    session = models.ForeignKey(
        Session, on_delete=models.PROTECT, null=True, blank=True, related_name="bladder_checks"
    )
    asked_on = models.DateField()
    frequency = models.BooleanField()
    urgency = models.BooleanField()
    nocturia = models.BooleanField()
    dysuria = models.BooleanField()
    haematuria = models.BooleanField()
    bladder_pain = models.BooleanField()
    note = models.TextField(blank=True)
    recorded_by = staff_reference()
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
    alert = models.ForeignKey(
        "safety.SafetyAlert", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-asked_on", "-recorded_at"]

    def __str__(self) -> str:
        return f"Bladder symptoms asked on {self.asked_on}"

    @property
    def present(self) -> list[str]:
        return [label for key, label in urinary.SYMPTOMS.items() if getattr(self, key)]


class RemsStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed"
    SUBMITTED = "submitted", "Submitted"


class RemsSubmissionMethod(models.TextChoices):
    ONLINE = "online", "Online (REMS portal)"
    FAX = "fax", "Fax"


class RemsForm(models.Model):
    """The SPRAVATO REMS Patient Monitoring Form of one session, due 7 days after it [R30]."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, status, due_date) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    session = models.OneToOneField(Session, on_delete=models.PROTECT, related_name="rems_form")
    due_date = models.DateField()
    status = models.CharField(max_length=10, choices=RemsStatus.choices, default=RemsStatus.DRAFT)
    fields = models.JSONField(default=dict, help_text="The form's fields as filed")
    signed_by = staff_reference(optional=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    submitted_by = staff_reference(optional=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submission_method = models.CharField(
        max_length=10, choices=RemsSubmissionMethod.choices, blank=True
    )
    # The REMS portal's confirmation id, or the fax transmission confirmation: the proof that
    # the form went in, asked for at every submission.
    submission_reference = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["due_date"]
        indexes = [models.Index(fields=["clinic", "status", "due_date"])]

    def __str__(self) -> str:
        return f"REMS form for {self.session}"

    def deadline(self, today: date) -> rems.Deadline:
        """Submitted, due, due today or overdue on ``today``, the clinic's date."""
        return rems.deadline(self.due_date, today, submitted=self.status == RemsStatus.SUBMITTED)


class MotorThreshold(models.Model):
    """A TMS resting motor threshold, as % of the device's output, on a date."""

    class Method(models.TextChoices):
        EMG = "emg", "EMG (motor evoked potential)"
        VISUAL = "visual", "Visual twitch"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="motor_thresholds"
    )
    measured_on = models.DateField()
    percent_output = models.PositiveSmallIntegerField()
    method = models.CharField(max_length=10, choices=Method.choices)
    device = models.CharField(max_length=80, blank=True)
    measured_by = staff_reference()
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-measured_on", "-recorded_at"]

    def __str__(self) -> str:
        return f"MT {self.percent_output}% on {self.measured_on}"


class TmsRecord(models.Model):
    """A TMS session: device, threshold and intensity, target, pulses, tolerability."""

    class TargetMethod(models.TextChoices):
        BEAM_F3 = "beam_f3", "Beam F3 (head measurements)"
        NEURONAVIGATION = "neuronavigation", "Neuronavigation"
        FIVE_CM = "5cm", "5 cm rule"

    session = models.OneToOneField(
        Session, on_delete=models.PROTECT, primary_key=True, related_name="tms"
    )
    device = models.CharField(max_length=80, blank=True)
    coil = models.CharField(max_length=80, blank=True)
    motor_threshold = models.ForeignKey(
        MotorThreshold, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    intensity_pct_mt = models.PositiveSmallIntegerField("intensity (% MT)", null=True, blank=True)
    intensity_pct_output = models.PositiveSmallIntegerField(
        "intensity (% output)", null=True, blank=True
    )
    target_method = models.CharField(max_length=16, choices=TargetMethod.choices, blank=True)
    tragus_tragus_cm = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    nasion_inion_cm = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    circumference_cm = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    beam_x_cm = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    beam_y_cm = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    neuronav_coordinates = models.CharField(
        max_length=80, blank=True, help_text="e.g. MNI −38, 44, 26"
    )
    pulses_planned = models.PositiveIntegerField(null=True, blank=True)
    pulses_delivered = models.PositiveIntegerField(null=True, blank=True)
    interruptions = models.TextField(blank=True)
    discomfort = models.PositiveSmallIntegerField("discomfort (0–10)", null=True, blank=True)
    side_effects = models.JSONField(default=list, blank=True)
    seizure = models.BooleanField(null=True, blank=True)
    # Retired: the free-text therapist's note from before progress notes (trellis/therapy).
    # Kept so that no word is lost and shown read only on the session page; nothing writes it.
    therapy_note = models.TextField(blank=True)
    note = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"TMS for {self.session}"


class Addendum(models.Model):
    """A correction to a signed session: the note stays as signed; this says who, when, why."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="addenda")
    author = staff_reference()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    reason = models.CharField(max_length=200)
    text = models.TextField()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Addendum to {self.session} by {self.author}"


class SafetyOverride(models.Model):
    """A prescriber let a session go past a safety stop (pre-dose BP hold, a second
    ketamine-family dose in a day, the clinic's dose or TMS intensity limit) and said why.
    Never changed: each override is its own row, written with its audit event."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="overrides")
    rule = models.CharField(max_length=40)
    problem = models.TextField(help_text="What the stop said, as the prescriber saw it")
    reason = models.TextField()
    prescriber = staff_reference()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Override of {self.rule} on {self.session}"


class NoteDraft(models.Model):
    """The chair-side note as it is being typed, kept for its author until the note is saved.

    A draft is not part of the record: it becomes the note only when its author saves the note,
    and a signed session takes no drafts. One draft per session and author, so two people
    documenting the same session never overwrite each other's unsaved words.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # covered by the (session, author) unique constraint
    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, related_name="note_drafts", db_index=False
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    text = models.TextField(blank=True)
    saved_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "author"], name="one_note_draft_per_author")
        ]

    def __str__(self) -> str:
        return f"Draft note for {self.session} by {self.author}"
