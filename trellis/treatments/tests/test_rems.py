"""The REMS Patient Monitoring Form: due within 7 days of the session and overdue only after
that, in the clinic's timezone [R30]; a submission needs its reference."""

from datetime import date, datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

from django.test import SimpleTestCase

from trellis.lib.errors import InputError
from trellis.treatments import rems, sessions
from trellis.treatments.models import RemsForm, RemsStatus
from trellis.treatments.rems import Deadline
from trellis.treatments.tests.test_sessions import SessionTestCase

SESSION_DAY = date(2026, 3, 2)  # a Monday
DUE = date(2026, 3, 9)


class DeadlineTableTests(SimpleTestCase):
    def test_the_form_is_due_seven_days_after_the_session(self):
        for session_day, due in (
            (date(2026, 3, 2), date(2026, 3, 9)),
            (date(2026, 2, 26), date(2026, 3, 5)),  # across the end of February
            (date(2026, 12, 28), date(2027, 1, 4)),  # across the year
        ):
            with self.subTest(session_day=session_day):
                self.assertEqual(rems.due_date(session_day), due)

    def test_due_until_the_end_of_the_due_date_then_overdue(self):
        table = [
            # today, submitted, expected
            (SESSION_DAY, False, Deadline.DUE),
            (DUE - timedelta(days=1), False, Deadline.DUE),
            (DUE, False, Deadline.DUE_TODAY),
            (DUE + timedelta(days=1), False, Deadline.OVERDUE),
            (DUE + timedelta(days=30), False, Deadline.OVERDUE),
            (DUE + timedelta(days=1), True, Deadline.SUBMITTED),
            (DUE, True, Deadline.SUBMITTED),
        ]
        for today, submitted, expected in table:
            with self.subTest(today=today, submitted=submitted):
                self.assertEqual(rems.deadline(DUE, today, submitted=submitted), expected)


class RemsPagesTestCase(SessionTestCase):
    """Esketamine course of clinic A (America/New_York), forms made directly for the dates."""

    def form_due(self, due: date, number: int = 1, status=RemsStatus.SIGNED, **fields):
        session = self.course.sessions.get(number=number)
        return RemsForm.objects.create(
            clinic=self.clinic_a,
            patient=self.patient,
            session=session,
            due_date=due,
            status=status,
            fields={"patient_name": self.patient.full_name},
            **fields,
        )

    def at(self, moment: datetime):
        return mock.patch("django.utils.timezone.now", return_value=moment)


class RemsListTests(RemsPagesTestCase):
    def test_a_form_on_its_due_date_is_due_today_and_overdue_the_day_after(self):
        yesterday = self.form_due(date(2026, 3, 8), 1)
        today = self.form_due(date(2026, 3, 9), 2)
        tomorrow = self.form_due(date(2026, 3, 10), 3)
        self.form_due(
            date(2026, 3, 5),
            4,
            status=RemsStatus.SUBMITTED,
            submitted_at=datetime(2026, 3, 4, 15, tzinfo=ZoneInfo("UTC")),
            submission_method="online",
            submission_reference="PMF-0001",
        )
        self.sign_in(self.nurse)
        noon = datetime(2026, 3, 9, 12, tzinfo=ZoneInfo("America/New_York"))
        with self.at(noon):
            page = self.client.get("/rems/")
        self.assertEqual([f.id for f in page.context["overdue"]], [yesterday.id])
        self.assertEqual([f.id for f in page.context["due"]], [today.id, tomorrow.id])
        self.assertEqual([f.submission_reference for f in page.context["submitted"]], ["PMF-0001"])
        self.assertContains(page, "Due today", count=1)
        self.assertContains(page, "Overdue</span>", count=1)
        self.assertNotContains(page, "Overdue since")

    def test_the_clinics_date_decides_not_the_servers(self):
        form = self.form_due(date(2026, 3, 9))
        self.sign_in(self.nurse)
        # 03:00 UTC on the 10th is still 23:00 on the 9th in New York: due today, not overdue.
        late_evening = datetime(2026, 3, 10, 3, tzinfo=ZoneInfo("UTC"))
        with self.at(late_evening):
            page = self.client.get("/rems/")
            detail = self.client.get(f"/rems/{form.id}/")
        self.assertEqual(page.context["overdue"], [])
        self.assertEqual(detail.context["state"], Deadline.DUE_TODAY)
        self.assertNotContains(detail, "Overdue")
        with self.at(late_evening + timedelta(hours=2)):  # 01:00 on the 10th in New York
            self.assertEqual(
                self.client.get(f"/rems/{form.id}/").context["state"], Deadline.OVERDUE
            )


class RemsSubmitTests(RemsPagesTestCase):
    def test_a_submission_without_a_reference_is_refused_naming_the_field(self):
        form = self.form_due(date(2026, 3, 9))
        self.sign_in(self.nurse)
        response = self.client.post(f"/rems/{form.id}/submit/", {"method": "fax"})
        self.assertEqual(response.status_code, 422)
        self.assertContains(response, "Reference is required", status_code=422)
        self.assertContains(response, "fax confirmation number", status_code=422)
        form.refresh_from_db()
        self.assertEqual((form.status, form.submitted_at), (RemsStatus.SIGNED, None))

        response = self.client.post(f"/rems/{form.id}/submit/", {"reference": "FAX-4471"})
        self.assertContains(response, "How it was submitted is required", status_code=422)
        self.assertEqual(RemsForm.objects.get(pk=form.pk).status, RemsStatus.SIGNED)

    def test_the_service_refuses_a_blank_reference_too(self):
        form = self.form_due(date(2026, 3, 9))
        with self.assertRaises(InputError) as raised:
            sessions.submit_rems_form(self.nurse_actor, form, method="online", reference="   ")
        self.assertEqual(raised.exception.field, "reference")

    def test_the_reference_is_kept_and_shown_on_the_form_and_in_the_list(self):
        form = self.form_due(date(2026, 3, 9))
        self.sign_in(self.nurse)
        response = self.client.post(
            f"/rems/{form.id}/submit/", {"method": "fax", "reference": " FAX-4471 "}
        )
        self.assertRedirects(response, f"/rems/{form.id}/")
        form.refresh_from_db()
        self.assertEqual(
            (form.status, form.submission_method, form.submission_reference, form.submitted_by),
            (RemsStatus.SUBMITTED, "fax", "FAX-4471", self.nurse),
        )
        page = self.client.get(f"/rems/{form.id}/")
        self.assertContains(page, "FAX-4471")
        self.assertNotContains(page, "Record submission")
        self.assertContains(self.client.get(f"/rems/{form.id}/print/"), "FAX-4471")
        listing = self.client.get("/rems/")
        self.assertEqual([f.id for f in listing.context["submitted"]], [form.id])
        self.assertContains(listing, "FAX-4471")

    def test_only_those_who_document_sessions_record_a_submission(self):
        form = self.form_due(date(2026, 3, 9))
        self.sign_in(self.therapist)
        self.assertNotContains(self.client.get(f"/rems/{form.id}/"), "Record submission")
        response = self.client.post(
            f"/rems/{form.id}/submit/", {"method": "online", "reference": "PMF-1"}
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(RemsForm.objects.get(pk=form.pk).status, RemsStatus.SIGNED)
