import io

from django.core.management import call_command
from django.test import TestCase

from trellis.accounts.models import Clinic, Membership, User
from trellis.accounts.permissions import Role
from trellis.audit.models import AuditEvent
from trellis.patients.models import AssessmentRequest, Patient, Screening


def counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (Clinic, User, Membership, Patient, AuditEvent)
    }


class LoadDemoTests(TestCase):
    def test_it_builds_two_clinics_with_every_role_and_patients(self):
        call_command("load_demo", stdout=io.StringIO())
        self.assertEqual(Clinic.objects.count(), 2)
        riverside = Clinic.objects.get(slug="riverside")
        roles = set(Membership.objects.filter(clinic=riverside).values_list("role", flat=True))
        self.assertEqual(roles, set(Role))
        self.assertEqual(Patient.objects.filter(clinic=riverside).count(), 30)
        self.assertTrue(User.objects.get(username="prescriber").check_password("trellis-demo-2026"))
        signed = Screening.objects.filter(clinic=riverside, signed_at__isnull=False)
        statuses = {s.status(m) for s in signed for m in ("iv_ketamine", "esketamine", "tms")}
        self.assertEqual(statuses, {"eligible", "caution", "contraindicated", "needs_info"})
        self.assertTrue(AssessmentRequest.objects.filter(clinic=riverside, status="new").exists())

    def test_running_it_twice_changes_nothing(self):
        call_command("load_demo", stdout=io.StringIO())
        first = counts()
        names = list(Patient.objects.order_by("mrn").values_list("mrn", "family_name"))
        call_command("load_demo", stdout=io.StringIO())
        self.assertEqual(counts(), first)
        self.assertEqual(
            list(Patient.objects.order_by("mrn").values_list("mrn", "family_name")), names
        )
