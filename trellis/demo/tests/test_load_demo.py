import io
from unittest import mock

from django.core.management import call_command
from django.db import transaction
from django.test import TestCase

from trellis.accounts.models import Clinic, Membership, User
from trellis.accounts.permissions import Role
from trellis.audit.models import AuditEvent
from trellis.demo import clinical, network
from trellis.measures.models import Measure
from trellis.patients.models import AssessmentRequest, Patient, Screening
from trellis.scheduling.models import Appointment, Resource
from trellis.treatments.models import Course, Session


def counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (
            Clinic,
            User,
            Membership,
            Patient,
            AuditEvent,
            Course,
            Session,
            Measure,
            Resource,
            Appointment,
        )
    }


class LoadDemoTests(TestCase):
    """The demo loaded once for the class (loading it takes seconds)."""

    @classmethod
    def setUpTestData(cls):
        call_command("load_demo", stdout=io.StringIO())

    def test_it_builds_two_clinics_with_every_role_and_patients(self):
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

    def test_each_clinic_has_chairs_rooms_and_tms_devices_and_a_booked_week(self):
        for slug in ("riverside", "lakeshore"):
            resources = Resource.objects.filter(clinic__slug=slug)
            kinds = sorted(resources.values_list("kind", flat=True))
            self.assertEqual(kinds, ["chair"] * 3 + ["room"] * 2 + ["tms_device"] * 2, slug)
            devices = resources.filter(kind="tms_device").order_by("ordering")
            self.assertEqual(
                [(d.model, d.coil) for d in devices],
                [("NeuroStar Advanced Therapy", "Figure-8"), ("MagPro R30", "Cool-B65")],
            )
            booked = Appointment.objects.filter(clinic__slug=slug)
            self.assertTrue(booked.exists(), slug)
            self.assertFalse(booked.exclude(session__status="booked").exists(), slug)

    def test_running_it_twice_changes_nothing(self):
        first = counts()
        names = list(Patient.objects.order_by("mrn").values_list("mrn", "family_name"))
        call_command("load_demo", stdout=io.StringIO())
        self.assertEqual(counts(), first)
        self.assertEqual(
            list(Patient.objects.order_by("mrn").values_list("mrn", "family_name")), names
        )

    def test_riverside_has_an_oral_ketamine_course_documented_in_the_clinic(self):
        course = Course.objects.get(clinic__slug="riverside", modality="oral_ketamine")
        signed = course.sessions.filter(signed_at__isnull=False)
        self.assertTrue(signed.exists())
        for session in signed:
            self.assertEqual(
                (session.oral.route, session.oral.escort_present), ("sublingual", True)
            )
            self.assertTrue(session.oral.escort_name)

    def test_both_clinics_have_courses_with_signed_sessions_and_questionnaires(self):
        for slug in ("riverside", "lakeshore"):
            courses = Course.objects.filter(clinic__slug=slug)
            self.assertGreaterEqual(courses.count(), 4, slug)
            self.assertLessEqual(
                {"iv_ketamine", "esketamine", "tms"}, {c.modality for c in courses}, slug
            )
            signed = Session.objects.filter(clinic__slug=slug, signed_at__isnull=False)
            self.assertTrue(signed.exists(), slug)
            self.assertTrue(Measure.objects.filter(course__clinic__slug=slug).exists(), slug)
        # Each clinic's courses are its own patients' and documented by its own staff.
        lakeshore = Course.objects.filter(clinic__slug="lakeshore")
        self.assertEqual(
            set(lakeshore.values_list("patient__clinic__slug", flat=True)), {"lakeshore"}
        )
        self.assertEqual(
            set(
                Session.objects.filter(course__in=lakeshore, signed_at__isnull=False).values_list(
                    "signed_by__username", flat=True
                )
            ),
            {"lakeshore"},
        )


def plan() -> list[tuple]:
    """Every demo course: clinic, patient, protocol, start date, payer."""
    return list(
        Course.objects.order_by("clinic__slug", "patient__mrn", "protocol__code").values_list(
            "clinic__slug", "patient__mrn", "protocol__code", "start_date", "payer"
        )
    )


class FreshDemoTests(TestCase):
    """Loads that must start from an empty database."""

    def test_the_courses_are_the_same_every_time_and_a_later_clinic_gets_its_own_once(self):
        class Discard(Exception):
            pass

        with self.assertRaises(Discard), transaction.atomic():
            call_command("load_demo", stdout=io.StringIO())
            first = plan()
            raise Discard
        self.assertFalse(Course.objects.exists())
        # Loaded again in two steps, as a demo loaded before Lakeshore had courses would be:
        # the same courses as the first load, Lakeshore's added once and Riverside's untouched.
        with mock.patch.dict(clinical.PLANS, {"lakeshore": []}):
            network.build()
        self.assertFalse(Course.objects.filter(clinic__slug="lakeshore").exists())
        riverside = Course.objects.filter(clinic__slug="riverside").count()
        added = network.build()
        self.assertEqual(added.courses, len(clinical.PLANS["lakeshore"]))
        self.assertEqual(Course.objects.filter(clinic__slug="riverside").count(), riverside)
        self.assertEqual(plan(), first)
        before = counts()
        self.assertEqual(network.build().courses, 0)
        self.assertEqual(counts(), before)
