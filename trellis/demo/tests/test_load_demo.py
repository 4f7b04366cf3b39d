import contextlib
import io
import time
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


class Discard(Exception):
    pass


def plan() -> list[tuple]:
    """Every demo course: clinic, patient, protocol, start date, payer."""
    return list(
        Course.objects.order_by(
            "clinic__slug", "patient__mrn", "protocol__code", "start_date", "payer"
        ).values_list("clinic__slug", "patient__mrn", "protocol__code", "start_date", "payer")
    )


class LoadDemoTests(TestCase):
    """The demo loaded once for the class, from an empty database (loading it takes seconds).

    Before that, on the same empty database, the demo is loaded in two steps and rolled back:
    what those loads did is kept for ``test_the_courses_are_the_same_every_time_...``."""

    @classmethod
    def setUpTestData(cls):
        cls.two_steps = cls.load_in_two_steps()
        call_command("load_demo", stdout=io.StringIO())

    @classmethod
    def load_in_two_steps(cls) -> dict:
        """Load the demo as one loaded before Lakeshore had courses would be, then again; note
        what each step left, and roll it all back."""
        seen = {}
        with contextlib.suppress(Discard), transaction.atomic():
            with mock.patch.dict(clinical.PLANS, {"lakeshore": []}):
                network.build()
            seen["lakeshore_courses_at_first"] = Course.objects.filter(
                clinic__slug="lakeshore"
            ).exists()
            seen["riverside_courses_at_first"] = Course.objects.filter(
                clinic__slug="riverside"
            ).count()
            seen["added_courses"] = network.build().courses
            seen["riverside_courses_after"] = Course.objects.filter(
                clinic__slug="riverside"
            ).count()
            seen["plan"] = plan()
            seen["before_third"] = counts()
            seen["third_courses"] = network.build().courses
            seen["after_third"] = counts()
            raise Discard
        seen["rolled_back"] = not Course.objects.exists()
        return seen

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
            # Group sessions are booked for each member of a cohort, not for a course's session;
            # today's assessments and therapy (booked when the day still has free time) have none.
            booked = Appointment.objects.filter(clinic__slug=slug).exclude(kind="group")
            sessions = booked.filter(session__isnull=False)
            self.assertTrue(sessions.exists(), slug)
            self.assertFalse(sessions.exclude(session__status="booked").exists(), slug)
            others = set(booked.filter(session__isnull=True).values_list("kind", flat=True))
            self.assertLessEqual(others, {"assessment", "therapy"}, slug)

    def test_running_it_twice_changes_nothing(self):
        first = counts()
        names = list(Patient.objects.order_by("mrn").values_list("mrn", "family_name"))
        call_command("load_demo", stdout=io.StringIO())
        self.assertEqual(counts(), first)
        self.assertEqual(
            list(Patient.objects.order_by("mrn").values_list("mrn", "family_name")), names
        )

    def test_riverside_has_an_upcoming_cohort_and_a_past_one_with_signed_notes(self):
        from trellis.groups.models import Attendance, Cohort, GroupNote

        cohorts = Cohort.objects.filter(clinic__slug="riverside").order_by("start_date")
        self.assertEqual(cohorts.count(), 2)
        past, upcoming = cohorts
        self.assertEqual(upcoming.enrolments.count(), 6)
        self.assertTrue(upcoming.listed)
        notes = GroupNote.objects.filter(meeting__cohort=past)
        self.assertTrue(notes.exists())
        self.assertEqual({n.status for n in notes}, {"signed"})
        self.assertTrue(Attendance.objects.filter(billing_code="90853").exists())
        self.assertFalse(Cohort.objects.filter(clinic__slug="lakeshore").exists())

    def test_riverside_has_an_oral_ketamine_course_documented_in_the_clinic(self):
        course = Course.objects.get(clinic__slug="riverside", modality="oral_ketamine")
        signed = course.sessions.filter(signed_at__isnull=False)
        self.assertTrue(signed.exists())
        for session in signed:
            self.assertEqual(
                (session.oral.route, session.oral.escort_present), ("sublingual", True)
            )
            self.assertTrue(session.oral.escort_name)

    def test_the_demo_patient_signs_in_to_the_portal_with_the_published_code(self):
        from trellis.demo import portal
        from trellis.portal import totp
        from trellis.portal.models import PortalAccount

        account = PortalAccount.objects.get(login=portal.LOGIN)
        self.assertTrue(account.ready)
        self.assertEqual(account.clinic.slug, "riverside")
        self.assertTrue(account.patient.aftercare_plan)
        # The code after the one that confirmed the authenticator at loading (a code signs in
        # once).
        code = totp.code_at(portal.KEY, time.time() + totp.STEP)
        response = self.client.post(
            "/portal/sign-in/",
            {"login": "patient", "password": network.DEMO_PASSWORD, "code": code},
        )
        self.assertRedirects(response, "/portal/", fetch_redirect_response=False)

    def test_riverside_prescribes_oral_ketamine_for_home_after_the_checks(self):
        from trellis.treatments.models import BladderCheck, OralPrescription

        rx = OralPrescription.objects.get(clinic__slug="riverside")
        self.assertEqual(rx.course.modality, "oral_ketamine")
        self.assertEqual(rx.pdmp_check.checked_on, rx.issued_on)
        self.assertIsNotNone(rx.urine_drug_screen)
        self.assertTrue(BladderCheck.objects.filter(patient=rx.patient).exists())
        self.assertFalse(OralPrescription.objects.filter(clinic__slug="lakeshore").exists())

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

    def test_the_courses_are_the_same_every_time_and_a_later_clinic_gets_its_own_once(self):
        # This class's demo is one fresh load; the two-step load before it (rolled back) was
        # what a demo loaded before Lakeshore had courses would be: the same courses as the
        # fresh load, Lakeshore's added once and Riverside's untouched.
        seen = self.two_steps
        self.assertTrue(seen["rolled_back"])
        self.assertFalse(seen["lakeshore_courses_at_first"])
        self.assertEqual(seen["added_courses"], len(clinical.PLANS["lakeshore"]))
        self.assertEqual(seen["riverside_courses_after"], seen["riverside_courses_at_first"])
        self.assertEqual(seen["plan"], plan())
        self.assertEqual(seen["third_courses"], 0)
        self.assertEqual(seen["after_third"], seen["before_third"])

    def test_riverside_has_payers_coverage_authorisations_and_an_estimate(self):
        from trellis.billing.models import Coverage, GoodFaithEstimate, Payer, PriorAuthorization

        riverside = Clinic.objects.get(slug="riverside")
        self.assertEqual((riverside.billing_npi, riverside.tax_id), ("1647895022", "06-1234567"))
        types = set(Payer.objects.filter(clinic=riverside).values_list("type", flat=True))
        self.assertTrue({"medicare", "medicare_advantage", "commercial"} <= types)
        approved = PriorAuthorization.objects.get(clinic=riverside, number="A7730215")
        self.assertEqual((approved.service, approved.approved_units), ("tms", 30))
        self.assertTrue(Coverage.objects.filter(patient=approved.patient).exists())
        pending = PriorAuthorization.objects.get(clinic=riverside, number="SR-55102")
        self.assertEqual((pending.service, pending.status), ("esketamine", "submitted"))
        self.assertIsNotNone(pending.decision_due_at)
        estimate = GoodFaithEstimate.objects.get(clinic=riverside)
        self.assertEqual(estimate.protocol.modality, "iv_ketamine")
        self.assertFalse(Coverage.objects.filter(patient=estimate.patient).exists())
        self.assertTrue(bytes(estimate.pdf).startswith(b"%PDF"))
