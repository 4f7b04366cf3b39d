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
    CONTROLLED_REPORT = "controlled.report"
    PROGRESS_NOTE_CHANGE = "progress_note.change"
    PSYCHOTHERAPY_NOTE_WRITE = "psychotherapy_note.write"
    PSYCHOTHERAPY_NOTE_READ = "psychotherapy_note.read"
    AFTERCARE_READ = "aftercare.read"
    AFTERCARE_CHANGE = "aftercare.change"
    PRESCRIPTION_CHANGE = "prescription.change"
    PAYER_CHANGE = "payer.change"
    COVERAGE_READ = "coverage.read"
    COVERAGE_CHANGE = "coverage.change"
    PRIOR_AUTH_READ = "prior_auth.read"
    PRIOR_AUTH_CHANGE = "prior_auth.change"
    PRIOR_AUTH_ATTEST = "prior_auth.attest"
    ESTIMATE_READ = "estimate.read"
    ESTIMATE_CHANGE = "estimate.change"
    DIAGNOSIS_READ = "diagnosis.read"
    DIAGNOSIS_CHANGE = "diagnosis.change"
    BILLING_READ = "billing.read"
    BILLING_WRITE = "billing.write"
    BILLING_REPORT = "billing.report"
    GROUP_READ = "group.read"
    GROUP_ENROL = "group.enrol"
    GROUP_DOCUMENT = "group.document"
    GROUP_PROGRAM_CHANGE = "group.program"
    EDUCATION_EDIT = "education.edit"
    EDUCATION_REVIEW = "education.review"
    PORTAL_MESSAGE_REPLY = "portal_message.reply"
    BULK_EXPORT = "bulk_export.system"
    RESEARCH_EXPORT = "research_export"


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
    # A theft or significant loss is the registrant's to report to the DEA [R70].
    Perm.CONTROLLED_REPORT: frozenset({_R.CLINIC_ADMIN, _R.PRESCRIBER}),
    # Psychotherapy (DOMAIN.md §11): those who give it write progress notes, which every
    # clinician reads as part of the record (session.read). Psychotherapy notes are read by
    # their author and by a colleague the author grants, never by role alone [R100]: the role
    # is only what a grant may be given to.
    Perm.PROGRESS_NOTE_CHANGE: frozenset({_R.THERAPIST, _R.PRESCRIBER}),
    Perm.PSYCHOTHERAPY_NOTE_WRITE: frozenset({_R.THERAPIST, _R.PRESCRIBER}),
    Perm.PSYCHOTHERAPY_NOTE_READ: _CLINICIANS,
    # Aftercare (DOMAIN.md §13): the care team reads and edits the plan, sends check-ins and
    # reads the journal entries a patient shares; the front desk and administrator do not.
    Perm.AFTERCARE_READ: _CLINICIANS,
    Perm.AFTERCARE_CHANGE: _CLINICIANS,
    # At-home oral ketamine (DOMAIN.md §9): only a prescriber writes a Schedule III
    # prescription, and so checks the PDMP and records the urine drug screen it rests on;
    # clinicians read them with the rest of the record (session.read).
    Perm.PRESCRIPTION_CHANGE: frozenset({_R.PRESCRIBER}),
    # Insurance (DOMAIN.md §14): the administrator sets up payers and sees everything; the front
    # desk keeps patients' coverage, sends prior authorisation requests and gives estimates;
    # a prescriber answers the clinical criteria a payer asks; those who give the sessions see
    # the authorisation's warnings on the course.
    Perm.PAYER_CHANGE: frozenset({_R.CLINIC_ADMIN}),
    Perm.COVERAGE_READ: frozenset({_R.CLINIC_ADMIN, _R.FRONT_DESK, _R.PRESCRIBER}),
    Perm.COVERAGE_CHANGE: frozenset({_R.CLINIC_ADMIN, _R.FRONT_DESK}),
    Perm.PRIOR_AUTH_READ: frozenset(
        {_R.CLINIC_ADMIN, _R.FRONT_DESK, _R.PRESCRIBER, _R.NURSE, _R.TMS_TECHNICIAN}
    ),
    Perm.PRIOR_AUTH_CHANGE: frozenset({_R.CLINIC_ADMIN, _R.FRONT_DESK, _R.PRESCRIBER}),
    Perm.PRIOR_AUTH_ATTEST: frozenset({_R.PRESCRIBER}),
    Perm.ESTIMATE_READ: frozenset({_R.CLINIC_ADMIN, _R.FRONT_DESK, _R.PRESCRIBER}),
    Perm.ESTIMATE_CHANGE: frozenset({_R.CLINIC_ADMIN, _R.FRONT_DESK}),
    # Money (DOMAIN.md §14): a prescriber keeps the problem list whose codes the charges carry;
    # everyone sees a patient's charges and balance (the front desk and the administrator need
    # the diagnosis codes a superbill prints); the front desk and the administrator take
    # payments and correct charges; the administrator reads the clinic's takings and ageing.
    Perm.DIAGNOSIS_READ: frozenset(Role),
    Perm.DIAGNOSIS_CHANGE: frozenset({_R.PRESCRIBER}),
    Perm.BILLING_READ: frozenset(Role),
    Perm.BILLING_WRITE: frozenset({_R.CLINIC_ADMIN, _R.FRONT_DESK}),
    Perm.BILLING_REPORT: frozenset({_R.CLINIC_ADMIN}),
    # Group therapy (DOMAIN.md §12): everyone sees the groups and who is in them; the front
    # desk and therapists enrol and work the waitlist and the public page's interest requests;
    # those who lead a group take its attendance and write its note (read as part of the record
    # with session.read); the administrator sets up programs and cohorts.
    Perm.GROUP_READ: frozenset(Role),
    Perm.GROUP_ENROL: frozenset({_R.CLINIC_ADMIN, _R.FRONT_DESK, _R.THERAPIST}),
    Perm.GROUP_DOCUMENT: frozenset({_R.THERAPIST, _R.PRESCRIBER}),
    Perm.GROUP_PROGRAM_CHANGE: frozenset({_R.CLINIC_ADMIN}),
    # The education library: the administrator and prescribers edit and publish pages; a
    # clinician who answers for their content (prescriber or nurse) reviews them first.
    Perm.EDUCATION_EDIT: frozenset({_R.CLINIC_ADMIN, _R.PRESCRIBER}),
    Perm.EDUCATION_REVIEW: frozenset({_R.PRESCRIBER, _R.NURSE}),
    # Secure messages from the portal: those who answer patients between visits (the care
    # team, and the front desk for bookings and forms) read and reply; the administrator and
    # the TMS technician do not read patients' letters.
    Perm.PORTAL_MESSAGE_REPLY: frozenset({_R.PRESCRIBER, _R.NURSE, _R.THERAPIST, _R.FRONT_DESK}),
    # Whole-clinic exports (DOMAIN.md §16, §17): the administrator hands the clinic's records to
    # another system (FHIR $export of every type) and releases de-identified research data.
    Perm.BULK_EXPORT: frozenset({_R.CLINIC_ADMIN}),
    Perm.RESEARCH_EXPORT: frozenset({_R.CLINIC_ADMIN}),
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
    Perm.SESSION_NOTE: "Add an addendum to a signed session",
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
    Perm.CONTROLLED_REPORT: "Report a theft or significant loss (DEA Form 106) and its notices",
    Perm.PROGRESS_NOTE_CHANGE: "Write, sign and correct a therapy progress note; set plan goals",
    Perm.PSYCHOTHERAPY_NOTE_WRITE: "Write one's own psychotherapy notes and grant colleagues them",
    Perm.PSYCHOTHERAPY_NOTE_READ: "Read psychotherapy notes: one's own, or a colleague's by grant",
    Perm.AFTERCARE_READ: "Read aftercare plans, check-ins and shared journal entries",
    Perm.AFTERCARE_CHANGE: "Edit an aftercare plan, send a check-in, enter a journal entry",
    Perm.PRESCRIPTION_CHANGE: "Prescribe oral ketamine for home; record PDMP checks, drug screens",
    Perm.PAYER_CHANGE: "Add and change the clinic's payers and how each codes esketamine",
    Perm.COVERAGE_READ: "Read a patient's insurance coverage",
    Perm.COVERAGE_CHANGE: "Add, edit and end a patient's insurance coverage",
    Perm.PRIOR_AUTH_READ: "See prior authorisations, their criteria and sessions left",
    Perm.PRIOR_AUTH_CHANGE: "Request, submit and record the payer's decision on a prior auth",
    Perm.PRIOR_AUTH_ATTEST: "Answer the clinical criteria of a prior authorisation request",
    Perm.ESTIMATE_READ: "Read Good Faith Estimates and their PDFs",
    Perm.ESTIMATE_CHANGE: "Give a self-pay patient a Good Faith Estimate",
    Perm.DIAGNOSIS_READ: "Read a patient's problem list (ICD-10-CM diagnoses)",
    Perm.DIAGNOSIS_CHANGE: "Add a diagnosis to the problem list, resolve one",
    Perm.BILLING_READ: "Read a patient's charges, payments, balance, statement and superbill",
    Perm.BILLING_WRITE: "Record a payment, apply it, correct a charge by a credit",
    Perm.BILLING_REPORT: "Read the daily takings and aged receivables (with CSV)",
    Perm.GROUP_READ: "See group programs, cohorts, their members and waitlists",
    Perm.GROUP_ENROL: "Enrol, waitlist and withdraw group members; answer interest requests",
    Perm.GROUP_DOCUMENT: "Lead a group: take its attendance, write and sign the group note",
    Perm.GROUP_PROGRAM_CHANGE: "Set up group programs and cohorts, their rooms and capacity",
    Perm.EDUCATION_EDIT: "Load, edit, publish and withdraw the patients' education pages",
    Perm.EDUCATION_REVIEW: "Review an education page's text, under one's own name",
    Perm.PORTAL_MESSAGE_REPLY: "Read patients' portal messages, reply, close a conversation",
    Perm.BULK_EXPORT: "Export every record of the clinic as FHIR (system-level Bulk Data $export)",
    Perm.RESEARCH_EXPORT: "Request and download the de-identified research export",
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
