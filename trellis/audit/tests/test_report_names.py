"""The audit report names records and staff in words, in a fixed number of queries, and refuses
dates it cannot use by name instead of failing."""

from datetime import date, datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext

from trellis.audit.models import Action
from trellis.audit.services import record
from trellis.measures.services import record_measure
from trellis.patients.services import create_screening
from trellis.testing import AUDIT_LOCK_QUERIES, SAFE_ANSWERS, TrellisTestCase, actor_for
from trellis.treatments.models import ClosureDay

PHQ9 = [1, 1, 1, 1, 1, 1, 1, 1, 0]


class ReportNamesTests(TrellisTestCase):
    def setUp(self):
        self.nurse.first_name, self.nurse.last_name = "Priya", "Raman"
        self.nurse.save(update_fields=["first_name", "last_name"])
        self.actor = actor_for(self.nurse, self.clinic_a)
        self.screening = create_screening(self.actor, self.patient, SAFE_ANSWERS, [])
        self.measure = record_measure(self.actor, self.patient, "phq9", PHQ9)
        self.closure = ClosureDay.objects.create(
            clinic=self.clinic_a, date=date(2027, 11, 25), reason="Thanksgiving Day"
        )
        self.read(self.screening)
        self.read(self.measure)
        record(
            Action.CREATE,
            user=self.admin,
            clinic=self.clinic_a,
            object_type="treatments.closureday",
            object_id="2027-11-25",
        )
        self.sign_in(self.admin)

    def read(self, obj, patient=None):
        record(
            Action.READ,
            user=self.nurse,
            clinic=self.clinic_a,
            patient=patient or self.patient,
            obj=obj,
            source_address="127.0.0.1",
        )

    def day(self, moment: datetime) -> str:
        local = moment.astimezone(self.clinic_a.tzinfo)
        return f"{local:%b} {local.day}, {local.year}"

    def test_records_and_staff_are_named_in_words(self):
        page = self.client.get("/audit/")
        self.assertContains(page, f"Screening of {self.day(self.screening.created_at)}")
        self.assertContains(page, f"PHQ-9 of {self.day(self.measure.observed_at)}")
        self.assertContains(page, "Closure day Nov 25, 2027")
        self.assertContains(page, "Priya Raman")
        self.assertNotContains(page, f"patients.screening {str(self.screening.pk)[:8]}")
        self.assertNotContains(page, "patients.screening")
        rows = {row.event.object_id: row for row in page.context["rows"]}
        self.assertEqual(rows[str(self.screening.pk)].staff, "Priya Raman")

    def test_a_name_never_says_what_the_record_holds(self):
        page = self.client.get("/audit/")
        name = next(
            row.record
            for row in page.context["rows"]
            if row.event.object_type == "measures.measure"
        )
        self.assertNotIn(str(self.measure.total), name)

    def test_a_record_that_cannot_be_found_is_named_by_its_type(self):
        record(
            Action.READ,
            user=self.nurse,
            clinic=self.clinic_a,
            patient=self.patient,
            object_type="patients.screening",
            object_id="not-a-uuid",
        )
        page = self.client.get("/audit/")
        names = [row.record for row in page.context["rows"] if row.event.object_id == "not-a-uuid"]
        self.assertEqual(names, ["Screening"])

    def queries(self) -> int:
        with CaptureQueriesContext(connection) as captured:
            self.client.get("/audit/")
        return len(captured.captured_queries)

    def test_the_report_takes_the_same_queries_however_many_records_it_names(self):
        self.client.get("/audit/")  # the first page view of a session does a little more
        before = self.queries()
        for _ in range(6):  # more events of the same record types
            self.read(
                create_screening(self.actor, self.other_patient, SAFE_ANSWERS, []),
                self.other_patient,
            )
            self.read(
                record_measure(self.actor, self.other_patient, "phq9", PHQ9), self.other_patient
            )
        self.assertEqual(self.queries(), before)

    def test_the_report_page_takes_a_fixed_number_of_queries(self):
        self.client.get("/audit/")
        # As without names (test_audit_trail), plus one query per record type named from its
        # row: screening and measure (patients and closure days are named without one).
        with self.assertNumQueries(12 + 2 + AUDIT_LOCK_QUERIES):
            self.client.get("/audit/")


class ReportDateTests(TrellisTestCase):
    def setUp(self):
        self.sign_in(self.admin)

    def test_a_far_future_date_is_refused_by_name_not_a_server_error(self):
        for params in [
            {"date_to": "9999-12-31"},
            {"date_from": "9999-12-31"},
            {"date_from": "0001-01-01"},
            {"date_to": "99999-12-31"},
        ]:
            with self.subTest(params=params):
                response = self.client.get("/audit/", params)
                self.assertEqual(response.status_code, 400)
                field = next(iter(params))
                self.assertTrue(response.context["form"].errors[field])
                self.assertEqual(list(response.context["page"]), [])
        response = self.client.get("/audit/", {"date_to": "9999-12-31"})
        self.assertContains(
            response, "Enter a date from 1900-01-01 to 2999-12-31.", status_code=400
        )

    def test_the_export_refuses_the_same_dates_by_name(self):
        response = self.client.get("/audit/export.csv", {"date_to": "9999-12-31"})
        self.assertEqual(response.status_code, 400)
        self.assertIn(b"To: Enter a date from 1900-01-01 to 2999-12-31.", response.content)

    def test_the_widest_dates_still_work(self):
        response = self.client.get("/audit/", {"date_from": "1900-01-01", "date_to": "2999-12-31"})
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.context["rows"])
