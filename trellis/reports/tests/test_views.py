"""The outcomes page and its CSV: who may read them, what they show, what they audit."""

import csv
import io
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import connection

from trellis.accounts.models import Membership
from trellis.accounts.permissions import Role
from trellis.audit.models import Action, AuditEvent
from trellis.reports import selectors
from trellis.reports.outcomes import BY_CLINIC
from trellis.reports.tests.helpers import T0, make_course, phq9, trajectory
from trellis.testing import AUDIT_LOCK_QUERIES, TrellisTestCase, actor_for

PAGE = "/reports/outcomes/"
CSV = "/reports/outcomes.csv"


class OutcomesPageTest(TrellisTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        trajectory(make_course(cls.patient, cls.prescriber), [20, 10])
        trajectory(make_course(cls.other_patient, cls.prescriber, modality="tms"), [18, 17])
        trajectory(make_course(cls.patient_b, cls.prescriber_b), [22, 2])

    def test_an_administrator_reads_the_figures(self):
        self.sign_in(self.admin)
        response = self.client.get(PAGE)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Treatment outcomes")
        self.assertContains(response, "Alpha Clinic")
        self.assertContains(response, "Q1 2026")
        self.assertContains(response, "100 %")  # IV ketamine: 1 of 1 responded
        self.assertContains(response, "1 of 1")
        self.assertContains(response, 'id="report-data"')
        self.assertContains(response, "js/outcomes.js")

    def test_a_prescriber_may_read_it_too(self):
        self.sign_in(self.prescriber)
        self.assertEqual(self.client.get(PAGE).status_code, 200)
        self.assertEqual(self.client.get(CSV).status_code, 200)

    def test_roles_without_report_read_are_refused(self):
        for role in (Role.NURSE, Role.TMS_TECHNICIAN, Role.THERAPIST, Role.FRONT_DESK):
            self.sign_in(self.staff_a[role])
            self.assertEqual(self.client.get(PAGE).status_code, 403, role)
            self.assertEqual(self.client.get(CSV).status_code, 403, role)
        self.assertFalse(AuditEvent.objects.filter(object_type="reports.outcomes").exists())

    def test_signed_out_visitors_go_to_sign_in(self):
        response = self.client.get(PAGE)
        self.assertEqual(response.status_code, 302)
        self.assertIn("/accounts/login/", response["Location"])

    def test_another_clinics_data_never_appears(self):
        self.sign_in(self.admin)
        response = self.client.get(PAGE)
        self.assertNotContains(response, "Beta Clinic")
        data = response.context["chart"]
        started = sum(n or 0 for series in data["series"] for n in series["started"])
        self.assertEqual(started, 2)  # clinic A's two courses, not B's
        chosen = self.client.get(PAGE, {"clinic": str(self.clinic_b.pk)})
        self.assertEqual(chosen.status_code, 400)
        self.assertContains(chosen, "Choose one of the clinics", status_code=400)
        self.assertNotContains(chosen, "Beta Clinic", status_code=400)
        exported = self.client.get(CSV, {"clinic": str(self.clinic_b.pk)})
        self.assertEqual(exported.status_code, 400)
        self.assertNotIn(b"Beta", exported.content)

    def test_no_patient_is_identified(self):
        self.sign_in(self.admin)
        for response in (self.client.get(PAGE), self.client.get(CSV)):
            text = response.content.decode()
            for patient in (self.patient, self.other_patient):
                self.assertNotIn(patient.family_name, text)
                self.assertNotIn(patient.mrn, text)
                self.assertNotIn(str(patient.pk), text)

    def test_several_clinics_make_a_network_view_by_default(self):
        Membership.objects.create(user=self.admin, clinic=self.clinic_b, role=Role.CLINIC_ADMIN)
        self.sign_in(self.admin)
        response = self.client.get(PAGE)
        self.assertContains(response, "All my clinics (2)")
        self.assertContains(response, "at 2 clinics")
        self.assertContains(response, "Beta Clinic")
        one = self.client.get(PAGE, {"clinic": str(self.clinic_b.pk)})
        self.assertContains(one, "at Beta Clinic")
        self.assertNotContains(one, "<td>Alpha Clinic</td>")
        events = AuditEvent.objects.filter(object_type="reports.outcomes", action="query")
        # One event per clinic the report covered, so each clinic's audit trail has it.
        self.assertEqual(sorted(e.clinic.slug for e in events), ["alpha", "beta", "beta"])

    def test_a_clinic_where_the_role_may_not_read_reports_is_not_offered(self):
        Membership.objects.create(user=self.admin, clinic=self.clinic_b, role=Role.NURSE)
        self.sign_in(self.admin)
        response = self.client.get(PAGE)
        choices = [label for _, label in response.context["form"].fields["clinic"].choices]
        self.assertEqual(choices, ["My clinic", "Alpha Clinic"])
        self.assertNotContains(response, "<td>Beta Clinic</td>")

    def test_the_filters_narrow_the_courses(self):
        self.sign_in(self.admin)
        response = self.client.get(PAGE, {"modality": "tms"})
        self.assertEqual([row.modality for row in response.context["overall"]], ["tms"])
        empty = self.client.get(PAGE, {"date_from": "2027-01-01"})
        self.assertContains(empty, "No treatment course started in this period")
        bad = self.client.get(PAGE, {"date_from": "2026-02-01", "date_to": "2026-01-01"})
        self.assertContains(bad, "The end date is before the start date.", status_code=400)

    def test_the_page_is_audited_as_a_query(self):
        self.sign_in(self.admin)
        self.client.get(PAGE, {"modality": "iv_ketamine"})
        event = AuditEvent.objects.get(object_type="reports.outcomes")
        self.assertEqual(
            (event.action, event.clinic, event.user), ("query", self.clinic_a, self.admin)
        )
        self.assertEqual(event.detail["filters"], {"modality": "iv_ketamine"})
        self.assertIsNone(event.patient)

    def test_the_csv_export_has_the_figures_and_is_audited(self):
        self.sign_in(self.admin)
        response = self.client.get(CSV)
        self.assertEqual(response["Content-Type"], "text/csv; charset=utf-8")
        self.assertIn('attachment; filename="outcomes-', response["Content-Disposition"])
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        ketamine = next(r for r in rows if r["modality"] == "iv_ketamine")
        self.assertEqual(ketamine["clinic"], "Alpha Clinic")
        self.assertEqual(ketamine["quarter"], "2026-Q1")
        self.assertEqual((ketamine["assessed"], ketamine["responders"]), ("1", "1"))
        self.assertEqual(ketamine["response_rate"], "1.0000")
        self.assertEqual(ketamine["median_weeks_to_response"], "1.0000")
        self.assertEqual(ketamine["durable_3m_rate"], "")
        self.assertEqual(len(rows), 2)  # one clinic: no pooled rows
        event = AuditEvent.objects.get(object_type="reports.outcomes")
        self.assertEqual(event.action, "export")

    def test_the_query_count_does_not_grow_with_the_courses(self):
        # The session, the user, the second factor and the memberships; the report in one
        # statement (with PostgreSQL's SET LOCAL) and its savepoint; the audit event: tail,
        # insert (and the chain's lock) and their savepoint; the open-alert count in the top bar
        # (the administrator follows escalated alerts).
        queries = 4 + 3 + 4 + 1 + AUDIT_LOCK_QUERIES + (connection.vendor == "postgresql")
        self.sign_in(self.admin)
        self.client.get(PAGE)
        with self.assertNumQueries(queries):
            self.assertEqual(self.client.get(PAGE).status_code, 200)
        for weeks in range(1, 9):
            course = make_course(self.other_patient, self.prescriber, modality="esketamine")
            phq9(course, 19, T0 + timedelta(weeks=weeks))
            phq9(course, 7, T0 + timedelta(weeks=weeks + 2))
        make_course(self.patient, self.prescriber, modality="tms", status="active")
        with self.assertNumQueries(queries):
            response = self.client.get(PAGE)
        self.assertEqual(response.context["overall"][1].courses_started, 8)


class OutcomeSelectorTest(TrellisTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        trajectory(make_course(cls.patient, cls.prescriber), [20, 10])

    def test_the_selector_audits_each_reading_and_export_it_runs(self):
        actor = actor_for(self.admin, self.clinic_a)
        args = {"date_from": None, "date_to": None, "modality": None, "levels": (BY_CLINIC,)}
        report = selectors.outcome_report([actor], filters={"treatment": "all"}, **args)
        self.assertEqual(len(report[BY_CLINIC]), 1)
        selectors.outcome_report([actor], filters={}, export=True, **args)
        events = AuditEvent.objects.filter(object_type="reports.outcomes").order_by("seq")
        self.assertEqual(
            [(e.action, e.user, e.detail) for e in events],
            [
                (Action.QUERY, self.admin, {"filters": {"treatment": "all"}, "clinics": 1}),
                (Action.EXPORT, self.admin, {"filters": {}, "clinics": 1}),
            ],
        )

    def test_a_role_without_report_read_is_refused_before_any_reading(self):
        nurse = actor_for(self.staff_a[Role.NURSE], self.clinic_a)
        args = {"date_from": None, "date_to": None, "modality": None, "levels": (BY_CLINIC,)}
        for actors in ([nurse], [actor_for(self.admin, self.clinic_a), nurse], []):
            with self.subTest(actors=actors), self.assertRaises(PermissionDenied):
                selectors.outcome_report(actors, filters={}, **args)
        self.assertFalse(AuditEvent.objects.filter(object_type="reports.outcomes").exists())
