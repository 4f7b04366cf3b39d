"""Who may read or change which kind of record: the one permission matrix.

``docs/permissions.md`` shows the same table; a test keeps the two equal
(``python manage.py permissions_table`` prints it).
"""

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    CLINIC_ADMIN = "clinic_admin", "Clinic administrator"
    PRESCRIBER = "prescriber", "Prescriber"
    NURSE = "nurse", "Nurse"
    TMS_TECHNICIAN = "tms_technician", "TMS technician"
    THERAPIST = "therapist", "Therapist"
    FRONT_DESK = "front_desk", "Front desk"


class Perm(StrEnum):
    PATIENT_READ = "patient.read"
    PATIENT_CHANGE = "patient.change"
    REQUEST_READ = "assessment_request.read"
    REQUEST_CHANGE = "assessment_request.change"
    SCREENING_READ = "screening.read"
    SCREENING_CHANGE = "screening.change"
    SCREENING_SIGN = "screening.sign"
    COURSE_READ = "course.read"
    COURSE_CHANGE = "course.change"
    COURSE_OVERRIDE = "course.override"
    SESSION_READ = "session.read"
    SESSION_CHANGE = "session.change"
    SESSION_NOTE = "session.note"
    SESSION_SIGN = "session.sign"
    MEASURE_READ = "measure.read"
    MEASURE_CHANGE = "measure.change"
    ALERT_READ = "alert.read"
    ALERT_ACKNOWLEDGE = "alert.acknowledge"
    AUDIT_READ = "audit.read"
    CLINIC_CHANGE = "clinic.change"
    REPORT_READ = "report.read"
    FEE_READ = "fee.read"
    FEE_CHANGE = "fee.change"
    APPOINTMENT_READ = "appointment.read"
    APPOINTMENT_CHANGE = "appointment.change"
    APPOINTMENT_THERAPY = "appointment.therapy"
    APPOINTMENT_OVERRIDE = "appointment.override"
    RESOURCE_CHANGE = "resource.change"
    CONTROLLED_READ = "controlled.read"
    CONTROLLED_CHANGE = "controlled.change"
    PROGRESS_NOTE_CHANGE = "progress_note.change"
    PSYCHOTHERAPY_NOTE_WRITE = "psychotherapy_note.write"
    PSYCHOTHERAPY_NOTE_READ = "psychotherapy_note.read"
    GROUP_READ = "group.read"
    GROUP_ENROL = "group.enrol"
    GROUP_DOCUMENT = "group.document"
    GROUP_PROGRAM_CHANGE = "group.program"


_R = Role
_CLINICIANS = frozenset({_R.PRESCRIBER, _R.NURSE, _R.TMS_TECHNICIAN, _R.THERAPIST})

# Minimum necessary: the administrator and the front desk see who the patients are and
# run the clinic, not their clinical records; clinicians see the clinical record; only a
# prescriber signs a screening or overrides a contraindication. Who treats documents the
# treatment (begins the session, doses, weighs, sets TMS parameters); a therapist adds notes.
# The administrator receives alert escalations, so may open an alert, but only a clinician
# acknowledges one.
RULES: dict[Perm, frozenset[Role]] = {
    Perm.PATIENT_READ: frozenset(Role),
    Perm.PATIENT_CHANGE: frozenset({_R.CLINIC_ADMIN, _R.PRESCRIBER, _R.NURSE, _R.FRONT_DESK}),
    Perm.REQUEST_READ: frozenset({_R.CLINIC_ADMIN, _R.PRESCRIBER, _R.NURSE, _R.FRONT_DESK}),
    Perm.REQUEST_CHANGE: frozenset({_R.CLINIC_ADMIN, _R.FRONT_DESK}),
    Perm.SCREENING_READ: _CLINICIANS,
    Perm.SCREENING_CHANGE: frozenset({_R.PRESCRIBER, _R.NURSE}),
    Perm.SCREENING_SIGN: frozenset({_R.PRESCRIBER}),
    Perm.COURSE_READ: _CLINICIANS | {_R.FRONT_DESK},
    Perm.COURSE_CHANGE: frozenset({_R.PRESCRIBER, _R.NURSE, _R.TMS_TECHNICIAN}),
    Perm.COURSE_OVERRIDE: frozenset({_R.PRESCRIBER}),
    Perm.SESSION_READ: _CLINICIANS,
    Perm.SESSION_CHANGE: frozenset({_R.PRESCRIBER, _R.NURSE, _R.TMS_TECHNICIAN}),
    Perm.SESSION_NOTE: _CLINICIANS,
    Perm.SESSION_SIGN: frozenset({_R.PRESCRIBER, _R.NURSE, _R.TMS_TECHNICIAN}),
    Perm.MEASURE_READ: _CLINICIANS,
    Perm.MEASURE_CHANGE: _CLINICIANS,
    Perm.ALERT_READ: _CLINICIANS | {_R.CLINIC_ADMIN},
    Perm.ALERT_ACKNOWLEDGE: frozenset({_R.PRESCRIBER, _R.NURSE, _R.THERAPIST}),
    Perm.AUDIT_READ: frozenset({_R.CLINIC_ADMIN}),
    Perm.CLINIC_CHANGE: frozenset({_R.CLINIC_ADMIN}),
    Perm.REPORT_READ: frozenset({_R.CLINIC_ADMIN, _R.PRESCRIBER}),
    Perm.FEE_READ: frozenset({_R.CLINIC_ADMIN, _R.FRONT_DESK}),
    Perm.FEE_CHANGE: frozenset({_R.CLINIC_ADMIN}),
    # The appointment book: everyone sees the day; those who run the desk and the treatments
    # book and move; a therapist books their own kinds (therapy, group, coaching); only a
    # prescriber allows a second ketamine-family dose on one day.
    Perm.APPOINTMENT_READ: frozenset(Role),
    Perm.APPOINTMENT_CHANGE: frozenset(
        {_R.CLINIC_ADMIN, _R.PRESCRIBER, _R.NURSE, _R.TMS_TECHNICIAN, _R.FRONT_DESK}
    ),
    Perm.APPOINTMENT_THERAPY: frozenset(Role),
    Perm.APPOINTMENT_OVERRIDE: frozenset({_R.PRESCRIBER}),
    # The administrator sets up what can be booked: chairs, rooms, TMS devices, their hours and
    # the times they are closed or in maintenance.
    Perm.RESOURCE_CHANGE: frozenset({_R.CLINIC_ADMIN}),
    # Those who give ketamine and esketamine keep its ledger; the administrator reconciles it.
    Perm.CONTROLLED_READ: frozenset({_R.CLINIC_ADMIN, _R.PRESCRIBER, _R.NURSE}),
    Perm.CONTROLLED_CHANGE: frozenset({_R.PRESCRIBER, _R.NURSE}),
    # Psychotherapy (DOMAIN.md §11): those who give it write progress notes, which every
    # clinician reads as part of the record (session.read). Psychotherapy notes are read by
    # their author and by a colleague the author grants, never by role alone [R100]: the role
    # is only what a grant may be given to.
    Perm.PROGRESS_NOTE_CHANGE: frozenset({_R.THERAPIST, _R.PRESCRIBER}),
    Perm.PSYCHOTHERAPY_NOTE_WRITE: frozenset({_R.THERAPIST, _R.PRESCRIBER}),
    Perm.PSYCHOTHERAPY_NOTE_READ: _CLINICIANS,
    # Group therapy (DOMAIN.md §12): everyone sees the groups and who is in them; the front
    # desk and therapists enrol and work the waitlist and the public page's interest requests;
    # those who lead a group take its attendance and write its note (read as part of the record
    # with session.read); the administrator sets up programs and cohorts.
    Perm.GROUP_READ: frozenset(Role),
    Perm.GROUP_ENROL: frozenset({_R.CLINIC_ADMIN, _R.FRONT_DESK, _R.THERAPIST}),
    Perm.GROUP_DOCUMENT: frozenset({_R.THERAPIST, _R.PRESCRIBER}),
    Perm.GROUP_PROGRAM_CHANGE: frozenset({_R.CLINIC_ADMIN}),
}

DESCRIPTIONS: dict[Perm, str] = {
    Perm.PATIENT_READ: "Read a patient's demographics and contacts",
    Perm.PATIENT_CHANGE: "Register a patient, edit demographics",
    Perm.REQUEST_READ: "Read the assessment-request queue",
    Perm.REQUEST_CHANGE: "Work the queue, turn a request into a patient",
    Perm.SCREENING_READ: "Read intake, screening, eligibility and contraindication overrides",
    Perm.SCREENING_CHANGE: "Record intake and screening answers",
    Perm.SCREENING_SIGN: "Sign a screening, acknowledge cautions",
    Perm.COURSE_READ: "Read treatment courses and their calendar",
    Perm.COURSE_CHANGE: "Start and re-plan a course",
    Perm.COURSE_OVERRIDE: "Override a contraindication or dose limit with a reason",
    Perm.SESSION_READ: "Read session documentation",
    Perm.SESSION_CHANGE: "Begin a session; record dose, weight, vitals, TMS parameters",
    Perm.SESSION_NOTE: "Add a therapist's note or an addendum to a session",
    Perm.SESSION_SIGN: "Sign a session note",
    Perm.MEASURE_READ: "Read questionnaires and outcomes",
    Perm.MEASURE_CHANGE: "Record a questionnaire, send a patient link",
    Perm.ALERT_READ: "See safety alerts (administrator: to follow up an escalation)",
    Perm.ALERT_ACKNOWLEDGE: "Acknowledge a safety alert with an action note",
    Perm.AUDIT_READ: "Read and export the audit report",
    Perm.CLINIC_CHANGE: "Change clinic settings and staff",
    Perm.REPORT_READ: "Read clinic outcome reports (aggregate)",
    Perm.FEE_READ: "Read the clinic's fee schedule",
    Perm.FEE_CHANGE: "Set a fee in the clinic's fee schedule",
    Perm.APPOINTMENT_READ: "See the appointment book",
    Perm.APPOINTMENT_CHANGE: "Book, move, confirm, check in, cancel any appointment",
    Perm.APPOINTMENT_THERAPY: "Book, move and close therapy, group and coaching appointments",
    Perm.APPOINTMENT_OVERRIDE: "Allow a second ketamine-family dose on one day, with a reason",
    Perm.RESOURCE_CHANGE: "Set up chairs, rooms, TMS devices, their hours, closures, maintenance",
    Perm.CONTROLLED_READ: "Read the controlled-substance stock and ledger",
    Perm.CONTROLLED_CHANGE: "Receive, administer, waste, witness and count controlled substances",
    Perm.PROGRESS_NOTE_CHANGE: "Write, sign and correct a therapy progress note; set plan goals",
    Perm.PSYCHOTHERAPY_NOTE_WRITE: "Write one's own psychotherapy notes and grant colleagues them",
    Perm.PSYCHOTHERAPY_NOTE_READ: "Read psychotherapy notes: one's own, or a colleague's by grant",
    Perm.GROUP_READ: "See group programs, cohorts, their members and waitlists",
    Perm.GROUP_ENROL: "Enrol, waitlist and withdraw group members; answer interest requests",
    Perm.GROUP_DOCUMENT: "Lead a group: take its attendance, write and sign the group note",
    Perm.GROUP_PROGRAM_CHANGE: "Set up group programs and cohorts, their rooms and capacity",
}


def role_can(role: str, perm: Perm) -> bool:
    return role in RULES[perm]


def matrix_markdown() -> str:
    """The permission matrix as a Markdown table, one row per permission."""
    header = "| Permission | What it allows | " + " | ".join(r.label for r in Role) + " |"
    rule = "|---|---|" + "---|" * len(Role)
    rows = [
        f"| `{perm}` | {DESCRIPTIONS[perm]} | "
        + " | ".join("yes" if role in RULES[perm] else "–" for role in Role)
        + " |"
        for perm in Perm
    ]
    return "\n".join([header, rule, *rows]) + "\n"
