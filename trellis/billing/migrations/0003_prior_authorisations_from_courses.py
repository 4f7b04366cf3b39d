"""A course's payer, authorisation reference and authorised sessions become a prior
authorisation: approved, for the sessions the course recorded, from the course's start.

The course keeps its fields (nothing is lost); the payer named in free text becomes a payer of
the clinic (commercial, J0013 coding) for the front desk to complete."""

from django.db import migrations

UNNAMED = "Payer not recorded"


def forwards(apps, schema_editor):
    Course = apps.get_model("treatments", "Course")
    Payer = apps.get_model("billing", "Payer")
    PriorAuthorization = apps.get_model("billing", "PriorAuthorization")
    courses = Course.objects.exclude(authorized_units__isnull=True, authorization_ref="")
    for course in courses.iterator():
        if PriorAuthorization.objects.filter(course=course).exists():
            continue
        name = (course.payer or "").strip()[:120] or UNNAMED
        if " ".join(name.replace("-", " ").split()).casefold() in ("self pay", "selfpay", "cash"):
            continue  # a self-pay course has no payer to authorise it
        payer, _ = Payer.objects.get_or_create(
            clinic_id=course.clinic_id,
            name=name,
            defaults={"type": "commercial", "esketamine_coding": "j_code"},
        )
        PriorAuthorization.objects.create(
            clinic_id=course.clinic_id,
            patient_id=course.patient_id,
            course=course,
            payer=payer,
            service=course.modality,
            status="approved",
            number=course.authorization_ref,
            approved_units=course.authorized_units,
            approved_from=course.start_date,
            created_by_id=course.created_by_id,
            created_at=course.created_at,
            decided_at=course.created_at,
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_payers_coverage_prior_authorisation_estimates")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
