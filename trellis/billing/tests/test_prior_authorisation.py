"""Prior authorisation: a request per course with its criteria read from the record, the
payer's decision, sessions used inside the window, the warnings on the course, patient and home
pages, and the CMS-0057-F deadline [R128]. Through HTTP and the services."""

from datetime import timedelta

from django.utils import timezone

from trellis.billing import insurance_selectors, insurance_services
from trellis.billing.models_insurance import AuthStatus, PriorAuthorization
from trellis.billing.tests.helpers import InsuranceTestCase
from trellis.lib.errors import InputError
from trellis.treatments import services as treatments
from trellis.treatments.models import Session


class RequestTests(InsuranceTestCase):
    def test_a_tms_request_reads_its_criteria_from_the_record(self):
        course = self.start("tms-10hz")
        self.phq9(19)
        self.cover()
        url = f"/api/v1/courses/{course.id}/prior-authorizations"
        response = self.call("post", url, "frontdesk", {})
        self.assertEqual(response.status_code, 201, response.content)
        data = response.json()
        self.assertEqual((data["status"], data["units_requested"]), ("draft", 36))
        criteria = {c["key"]: c for c in data["criteria"]}
        self.assertEqual(criteria["phq9"]["status"], "met")
        self.assertTrue(criteria["phq9"]["evidence"].startswith("Latest PHQ-9 19"))
        self.assertEqual(criteria["phq9"]["source"], "[R38]")
        self.assertEqual(criteria["failed_trials"]["status"], "met")
        self.assertIn("sertraline, bupropion", criteria["failed_trials"]["evidence"])
        self.assertEqual(criteria["sessions"]["status"], "met")
        self.assertEqual(criteria["adult"]["status"], "met")
        self.assertEqual(criteria["psychotherapy"]["status"], "unknown")
        self.assertEqual(data["criteria_met"], "unknown")

    def test_a_low_phq9_and_an_accelerated_course_are_not_met(self):
        course = self.start("tms-accelerated-itbs")
        self.phq9(12)
        self.cover()
        auth = insurance_services.request_authorisation(self.front_actor, course)
        rows = {c.key: c for c in insurance_selectors.checklist(auth, self.clinic_a.today())}
        self.assertEqual(rows["phq9"].status, "not_met")
        self.assertEqual(rows["sessions"].status, "not_met")
        self.assertEqual(rows["sessions"].evidence, "50 sessions planned")

    def test_no_insurance_is_a_422_naming_the_payer(self):
        course = self.start("tms-10hz")
        response = self.call(
            "post", f"/api/v1/courses/{course.id}/prior-authorizations", "frontdesk", {}
        )
        self.assertEqual(response.status_code, 422)
        self.assertIn("payer", response.json()["detail"])
        self.assertFalse(PriorAuthorization.objects.exists())

    def test_a_prescriber_attests_what_the_record_cannot_hold(self):
        course = self.start("tms-10hz")
        self.cover()
        auth = insurance_services.request_authorisation(self.front_actor, course)
        url = f"/billing/authorisations/{auth.id}/criteria/"
        self.sign_in(self.front_desk)
        self.assertEqual(
            self.client.post(url, {"criterion": "psychotherapy", "status": "met"}).status_code, 403
        )
        self.sign_in(self.prescriber)
        self.client.post(url, {"criterion": "psychotherapy", "status": "met", "note": "CBT 2025"})
        page = self.client.get(f"/billing/authorisations/{auth.id}/")
        self.assertContains(page, "Attested by Prescriber: CBT 2025")
        # Data the record holds is never attested over.
        self.client.post(url, {"criterion": "phq9", "status": "met"})
        auth.refresh_from_db()
        self.assertEqual(list(auth.attestations), ["psychotherapy"])

    def test_other_clinics_get_404_and_a_therapist_403(self):
        course = self.start("tms-10hz")
        self.cover()
        auth = insurance_services.request_authorisation(self.front_actor, course)
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(f"/billing/authorisations/{auth.id}/").status_code, 404)
        self.sign_in(self.therapist)
        self.assertEqual(self.client.get(f"/billing/authorisations/{auth.id}/").status_code, 403)
        self.assertEqual(
            self.call("get", f"/api/v1/prior-authorizations/{auth.id}", "prescriber_b").status_code,
            404,
        )


class DecisionTests(InsuranceTestCase):
    def test_cms_0057_f_payers_must_decide_in_7_days_or_72_hours(self):
        course = self.start("tms-10hz")
        self.cover(self.advantage)
        auth = insurance_services.request_authorisation(self.front_actor, course)
        auth = insurance_services.submit_authorisation(self.front_actor, auth, number="REQ-1")
        self.assertEqual(auth.decision_due_at - auth.submitted_at, timedelta(days=7))
        urgent = insurance_services.request_authorisation(self.front_actor, course, urgent=True)
        urgent = insurance_services.submit_authorisation(self.front_actor, urgent)
        self.assertEqual(urgent.decision_due_at - urgent.submitted_at, timedelta(hours=72))

    def test_a_commercial_payer_has_no_federal_deadline(self):
        course = self.start("tms-10hz")
        self.cover()
        auth = insurance_services.request_authorisation(self.front_actor, course)
        auth = insurance_services.submit_authorisation(self.front_actor, auth)
        self.assertIsNone(auth.decision_due_at)

    def test_an_overdue_decision_is_on_the_front_desks_home_page(self):
        course = self.start("tms-10hz")
        self.cover(self.advantage)
        auth = insurance_services.request_authorisation(self.front_actor, course)
        insurance_services.submit_authorisation(
            self.front_actor, auth, submitted_at=timezone.now() - timedelta(days=8)
        )
        self.sign_in(self.front_desk)
        page = self.client.get("/")
        self.assertContains(page, "Prior authorisations to renew or chase")
        self.assertContains(page, "Decision overdue")

    def test_an_approval_needs_its_number_sessions_and_dates(self):
        course = self.start("tms-10hz")
        self.cover()
        auth = insurance_services.request_authorisation(self.front_actor, course)
        self.sign_in(self.front_desk)
        url = f"/billing/authorisations/{auth.id}/decision/"
        response = self.client.post(url, {"decision": "approved", "number": "PA-9"}, follow=True)
        self.assertContains(response, "Approved units: must be a whole number of sessions")
        auth.refresh_from_db()
        self.assertEqual(auth.status, AuthStatus.DRAFT)
        start = course.start_date
        self.client.post(
            url,
            {
                "decision": "approved",
                "number": "PA-9",
                "approved_units": "30",
                "approved_from": start.isoformat(),
                "approved_to": (start + timedelta(days=90)).isoformat(),
            },
        )
        auth.refresh_from_db()
        self.assertEqual((auth.status, auth.approved_units, auth.number), ("approved", 30, "PA-9"))

    def test_a_denial_needs_a_reason(self):
        course = self.start("esketamine-trd")
        self.cover()
        auth = insurance_services.request_authorisation(self.front_actor, course)
        with self.assertRaises(InputError) as caught:
            insurance_services.record_decision(self.front_actor, auth, approved=False)
        self.assertEqual(caught.exception.field, "denial_reason")
        insurance_services.record_decision(
            self.front_actor, auth, approved=False, denial_reason="Step therapy not met"
        )
        self.sign_in(self.prescriber)
        self.assertContains(self.client.get(f"/courses/{course.id}/"), "Step therapy not met")


class UnitsTests(InsuranceTestCase):
    def approve(self, course, units, start, end):
        auth = insurance_services.request_authorisation(self.front_actor, course)
        return insurance_services.record_decision(
            self.front_actor,
            auth,
            approved=True,
            number="PA-77",
            approved_units=units,
            approved_from=start,
            approved_to=end,
        )

    def test_units_used_are_the_signed_sessions_inside_the_window(self):
        course = self.start("tms-10hz")
        self.cover()
        start = course.start_date
        auth = self.approve(course, 36, start, start + timedelta(days=60))
        self.sign(course, 1, 2, 3)
        self.sign(course, 4, on=start - timedelta(days=1))  # before the window: not counted
        Session.objects.filter(course=course, number=5).update(status="in_progress")  # not signed
        usage = insurance_selectors.usage(auth, self.clinic_a.today())
        self.assertEqual((usage.used, usage.remaining), (3, 33))

    def test_the_course_page_warns_before_the_sessions_run_out(self):
        course = self.start("ketamine-iv-induction")
        self.cover()
        start = course.start_date
        self.approve(course, 4, start, start + timedelta(days=120))
        self.sign(course, 1, 2)
        self.sign_in(self.nurse)
        page = self.client.get(f"/courses/{course.id}/")
        self.assertContains(page, "Prior authorisation")
        self.assertContains(page, "Only 2 of 4 approved sessions left.")
        self.assertContains(page, "PA-77")
        # The course's own counter now reads the authorisation.
        self.assertContains(page, "2 of 4 sessions used")
        self.sign_in(self.front_desk)
        self.assertContains(self.client.get(f"/patients/{self.patient.id}/"), "Only 2 of 4")
        self.assertContains(self.client.get("/"), "Only 2 of 4 approved sessions left.")

    def test_the_window_ending_warns_too(self):
        course = self.start("tms-10hz")
        self.cover()
        today = self.clinic_a.today()
        self.approve(course, 36, today - timedelta(days=30), today + timedelta(days=5))
        self.sign_in(self.prescriber)
        self.assertContains(
            self.client.get(f"/courses/{course.id}/"), "Authorisation window ends in 5 days"
        )
        self.assertContains(self.client.get("/"), "Authorisation window ends in 5 days")

    def test_a_course_started_with_authorised_sessions_records_an_approval(self):
        course = self.start(
            "tms-10hz", payer="Northwind Mutual", authorization_ref="NW-1", authorized_units=30
        )
        auth = PriorAuthorization.objects.get(course=course)
        self.assertEqual(
            (auth.status, auth.number, auth.approved_units, auth.payer.name),
            ("approved", "NW-1", 30, "Northwind Mutual"),
        )
        # A renewal adds to what the course may use.
        self.cover()
        self.approve(course, 6, course.start_date, course.start_date + timedelta(days=90))
        found = treatments.authorisation(course, used=0, planned=36)
        self.assertEqual(found.authorised, 36)

    def test_no_approval_means_nothing_tracked(self):
        course = self.start("tms-10hz")
        self.assertIsNone(treatments.authorisation(course, used=0, planned=36).authorised)


class HomeListTests(InsuranceTestCase):
    def test_the_home_list_costs_the_same_for_one_row_or_eleven(self):
        from trellis.testing import make_patient

        self.cover()
        today = self.clinic_a.today()

        def add(count):
            for i in range(count):
                patient = make_patient(self.front_actor, "Pat", f"Ient{i:02d}{len(self.made)}")
                self.made.append(patient)
                self.cover(patient=patient)
                course = self.start("tms-10hz", patient=patient)
                auth = insurance_services.request_authorisation(self.front_actor, course)
                insurance_services.record_decision(
                    self.front_actor,
                    auth,
                    approved=True,
                    number=f"PA-{i}",
                    approved_units=36,
                    approved_from=today,
                    approved_to=today + timedelta(days=3),
                )

        def cost():
            from django.db import connection
            from django.test.utils import CaptureQueriesContext

            with CaptureQueriesContext(connection) as queries:
                page = insurance_selectors.authorisations_to_watch(self.front_actor)
                for auth in page.object_list:
                    auth.info["usage"].messages()
            return len(queries), len(page.object_list)

        self.made = []
        add(1)
        one, rows = cost()
        self.assertEqual(rows, 1)
        add(11)
        many, rows = cost()
        self.assertEqual(rows, 10)
        self.assertEqual(one, many)

    def test_a_clinic_with_no_request_to_watch_reads_one_row_and_still_audits_the_list(self):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from trellis.audit.models import Action, AuditEvent

        self.cover()
        course = self.start("tms-10hz")
        insurance_services.request_authorisation(self.front_actor, course)  # a draft: not watched
        with CaptureQueriesContext(connection) as queries:
            page = insurance_selectors.authorisations_to_watch(self.front_actor)
        self.assertEqual(list(page.object_list), [])
        reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
        self.assertEqual(len([sql for sql in reads if "priorauthorization" in sql]), 1)
        event = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual(
            (event.action, event.detail["list"]), (Action.QUERY, "authorisations_to_watch")
        )
        self.assertEqual(event.detail["total"], 0)


class CriteriaAsSubmittedTests(InsuranceTestCase):
    def test_a_submitted_request_reads_the_phq9_as_it_stood_when_submitted(self):
        course = self.start("tms-10hz")
        self.cover()
        self.phq9(19)
        auth = insurance_services.request_authorisation(self.front_actor, course)
        auth = insurance_services.submit_authorisation(self.front_actor, auth)
        later = self.phq9(6)  # the course worked
        today = self.clinic_a.today()
        rows = {c.key: c for c in insurance_selectors.checklist(auth, today)}
        self.assertEqual(rows["phq9"].status, "met")
        self.assertTrue(rows["phq9"].evidence.startswith("Latest PHQ-9 19"))
        draft = insurance_services.request_authorisation(self.front_actor, course)
        rows = {c.key: c for c in insurance_selectors.checklist(draft, today)}
        self.assertEqual((rows["phq9"].status, later.total), ("not_met", 6))
