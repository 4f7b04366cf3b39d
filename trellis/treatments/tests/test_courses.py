"""Course pages: starting a course from a signed screening, the calendar, re-planning, stopping,
payer authorisation, closure days and the patient page's course panel. Through HTTP."""

from datetime import date, timedelta
from itertools import pairwise
from unittest import mock

from django.http import Http404
from django.template import Context, Template

from trellis.accounts.permissions import Role
from trellis.audit.models import Action, AuditEvent
from trellis.lib.errors import InputError
from trellis.patients import panels
from trellis.patients.services import create_screening, sign_screening
from trellis.patients.tests.test_api import SAFE_ANSWERS
from trellis.testing import AUDIT_LOCK_QUERIES, TrellisTestCase, actor_for
from trellis.treatments import services
from trellis.treatments.models import ClosureDay, Course, CourseStatus, Session, SessionStatus
from trellis.treatments.tests.helpers import antidepressant

# A metal implant in the head contraindicates TMS and nothing else [R46].
TMS_CONTRAINDICATED = {**SAFE_ANSWERS, "head_metal_implant": True}


def next_monday(clinic, weeks_ahead: int = 1) -> date:
    today = services.clinic_today(clinic)
    return today + timedelta(days=7 - today.weekday()) + timedelta(weeks=weeks_ahead - 1)


def is_open(day: date, closed: set[date]) -> bool:
    return day.weekday() < 5 and day not in closed


class CourseTestCase(TrellisTestCase):
    """Personas from TrellisTestCase, and helpers to screen a patient and start a course."""

    def sign_screening_for(self, patient, answers=SAFE_ANSWERS):
        prescriber = actor_for(self.prescriber, self.clinic_a)
        screening = create_screening(prescriber, patient, answers, [])
        return sign_screening(prescriber, screening, acknowledge_cautions=True)

    def start(self, protocol="tms-10hz", start_date=None, user=None, patient=None, **extra):
        """Start a course through the service (for tests about what comes after starting)."""
        actor = actor_for(user or self.nurse, self.clinic_a)
        return services.start_course(
            actor,
            patient or self.patient,
            protocol,
            start_date or next_monday(self.clinic_a),
            **{"with_antidepressant": antidepressant(protocol), **extra},
        )

    def deliver(self, course, *numbers, signed=True):
        """Mark sessions as given and signed (delivered), as the session pages would; with
        ``signed=False``, begun and documented but not signed yet."""
        rows = Session.objects.filter(course=course, number__in=numbers)
        if signed:
            rows.update(status=SessionStatus.SIGNED, signed_at="2026-01-01T12:00Z")
        else:
            rows.update(status=SessionStatus.IN_PROGRESS, started_at="2026-01-01T11:00Z")

    def close(self, *days, reason="Closed"):
        for day in days:
            ClosureDay.objects.create(clinic=self.clinic_a, date=day, reason=reason)


class StartCourseTests(CourseTestCase):
    def form(self, **changes):
        return {
            "protocol": "tms-10hz",
            "start_date": next_monday(self.clinic_a).isoformat(),
            "payer": "Acme Health",
            "authorization_ref": "PA-1234",
            "authorized_units": "36",
            "override_reason": "",
            **changes,
        }

    def test_a_nurse_starts_a_course_from_a_signed_screening(self):
        screening = self.sign_screening_for(self.patient)
        self.sign_in(self.nurse)
        url = f"/patients/{self.patient.id}/courses/new/"
        page = self.client.get(url)
        self.assertEqual(page.status_code, 200)
        for text in ("TMS 10 Hz, left DLPFC", 'href="/sources/#r31"', "Esketamine (Spravato)"):
            self.assertContains(page, text)
        self.assertContains(page, f"/screenings/{screening.id}/")

        response = self.client.post(url, self.form())
        course = Course.objects.get(patient=self.patient)
        self.assertRedirects(response, f"/courses/{course.id}/")
        self.assertEqual(
            (course.protocol.code, course.modality, course.screening, course.created_by),
            ("tms-10hz", "tms", screening, self.nurse),
        )
        self.assertEqual(
            (course.payer, course.authorization_ref, course.authorized_units),
            ("Acme Health", "PA-1234", 36),
        )
        self.assertEqual(course.sessions.count(), 36)
        self.assertEqual(course.override_reason, "")
        event = AuditEvent.objects.get(action=Action.CREATE, object_id=str(course.id))
        self.assertEqual((event.patient, event.detail["sessions"]), (self.patient, 36))

    def test_without_a_signed_screening_it_explains_and_links_to_screening(self):
        self.sign_in(self.nurse)
        url = f"/patients/{self.patient.id}/courses/new/"
        page = self.client.get(url)
        self.assertContains(page, "No signed screening")
        self.assertContains(page, f"/patients/{self.patient.id}/screenings/new/")
        response = self.client.post(url, self.form())
        self.assertEqual(response.status_code, 200)
        self.assertIn("no signed screening", " ".join(response.context["form"].non_field_errors()))
        self.assertFalse(Course.objects.exists())

    def test_a_contraindicated_modality_is_refused_without_an_override_reason(self):
        self.sign_screening_for(self.patient, TMS_CONTRAINDICATED)
        self.sign_in(self.prescriber)
        response = self.client.post(f"/patients/{self.patient.id}/courses/new/", self.form())
        self.assertEqual(response.status_code, 200)
        self.assertIn("Required", " ".join(response.context["form"].errors["override_reason"]))
        self.assertFalse(Course.objects.exists())

    def test_a_prescriber_overrides_with_a_reason_that_is_kept_and_audited(self):
        self.sign_screening_for(self.patient, TMS_CONTRAINDICATED)
        self.sign_in(self.prescriber)
        reason = "Titanium plate sits 35 cm from the coil; neurosurgery cleared TMS."
        response = self.client.post(
            f"/patients/{self.patient.id}/courses/new/", self.form(override_reason=reason)
        )
        course = Course.objects.get()
        self.assertRedirects(response, f"/courses/{course.id}/")
        self.assertEqual((course.override_reason, course.override_by), (reason, self.prescriber))
        event = AuditEvent.objects.get(action=Action.CREATE, object_id=str(course.id))
        self.assertEqual(event.detail["override_reason"], reason)
        page = self.client.get(f"/courses/{course.id}/")
        self.assertContains(page, "Contraindicated, overridden")
        self.assertContains(page, reason)

    def test_an_override_reason_without_a_contraindication_is_refused_by_name(self):
        self.sign_screening_for(self.patient)
        self.sign_in(self.prescriber)
        response = self.client.post(
            f"/patients/{self.patient.id}/courses/new/", self.form(override_reason="Just in case")
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn(
            "contraindication", " ".join(response.context["form"].errors["override_reason"])
        )
        self.assertFalse(Course.objects.exists())

    def test_a_nurse_sees_why_she_cannot_override_and_is_refused(self):
        self.sign_screening_for(self.patient, TMS_CONTRAINDICATED)
        self.sign_in(self.nurse)
        url = f"/patients/{self.patient.id}/courses/new/"
        page = self.client.get(url)
        self.assertContains(page, "Only a prescriber can start it")
        self.assertContains(page, 'value="tms-10hz" disabled')
        self.assertNotContains(page, 'name="override_reason"')
        response = self.client.post(url, self.form(override_reason="I think it is fine"))
        self.assertEqual(response.status_code, 403)
        self.assertIn("prescriber", " ".join(response.context["form"].non_field_errors()))
        response = self.client.post(url, self.form())
        self.assertIn("only a prescriber", " ".join(response.context["form"].errors["protocol"]))
        self.assertFalse(Course.objects.exists())

    def test_bad_input_is_named_on_the_form(self):
        self.sign_screening_for(self.patient)
        self.sign_in(self.nurse)
        url = f"/patients/{self.patient.id}/courses/new/"
        yesterday = services.clinic_today(self.clinic_a) - timedelta(days=1)
        for field, value in [
            ("protocol", "tms-99hz"),
            ("start_date", "31/02/2026"),
            ("start_date", yesterday.isoformat()),
            ("authorized_units", "0"),
        ]:
            with self.subTest(field=field, value=value):
                response = self.client.post(url, self.form(**{field: value}))
                self.assertEqual(response.status_code, 200)
                self.assertIn(field, response.context["form"].errors)
        self.assertFalse(Course.objects.exists())

    def test_the_service_keeps_start_dates_within_a_year_either_side_of_today(self):
        self.sign_screening_for(self.patient)
        today = services.clinic_today(self.clinic_a)
        for value in (
            today + timedelta(days=367),
            date(9999, 12, 20),
            today - timedelta(days=367),
            date(2001, 1, 1),
        ):
            with self.subTest(start_date=value):
                with self.assertRaises(InputError) as error:
                    self.start("tms-10hz", value)
                self.assertEqual(error.exception.field, "start_date")
        self.assertFalse(Course.objects.exists())
        # A course that began recently may still be entered (the demo's history does).
        course = self.start("tms-10hz", today - timedelta(weeks=6))
        self.assertEqual(course.start_date, today - timedelta(weeks=6))

    def test_a_start_date_years_ahead_is_named_on_the_form_not_a_server_error(self):
        self.sign_screening_for(self.patient)
        self.sign_in(self.nurse)
        response = self.client.post(
            f"/patients/{self.patient.id}/courses/new/", self.form(start_date="9999-12-20")
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("within a year", " ".join(response.context["form"].errors["start_date"]))
        self.assertFalse(Course.objects.exists())

    def test_the_service_refuses_another_clinics_patient(self):
        self.sign_screening_for(self.patient)
        with self.assertRaises(Http404):
            services.start_course(
                actor_for(self.prescriber_b, self.clinic_b),
                self.patient,
                "tms-10hz",
                next_monday(self.clinic_a),
            )
        self.assertFalse(Course.objects.exists())

    def test_the_planned_calendar_skips_weekends_and_closure_days(self):
        self.sign_screening_for(self.patient)
        monday = next_monday(self.clinic_a)
        closed = {monday + timedelta(days=2), monday + timedelta(days=7)}  # Wed, next Mon
        self.sign_in(self.admin)
        for day in sorted(closed):
            self.client.post("/clinic/closures/", {"date": day.isoformat(), "reason": "Holiday"})
        self.assertEqual(ClosureDay.objects.filter(clinic=self.clinic_a).count(), 2)

        self.sign_in(self.nurse)
        self.client.post(
            f"/patients/{self.patient.id}/courses/new/",
            self.form(protocol="ketamine-iv-induction", start_date=monday.isoformat()),
        )
        course = Course.objects.get()
        days = list(course.sessions.order_by("number").values_list("planned_date", flat=True))
        self.assertEqual(len(days), 6)
        self.assertTrue(all(is_open(day, closed) for day in days), days)
        self.assertTrue(all((b - a).days >= 2 for a, b in pairwise(days)))
        page = self.client.get(f"/courses/{course.id}/")
        self.assertContains(page, "Clinic closed", count=2)
        self.assertContains(page, "Week 1")

    def test_other_clinics_and_roles_without_the_right(self):
        self.sign_screening_for(self.patient)
        url = f"/patients/{self.patient.id}/courses/new/"
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(url).status_code, 404)
        self.assertEqual(self.client.post(url, self.form()).status_code, 404)
        for user in (self.front_desk, self.therapist, self.admin):
            with self.subTest(user=user.username):
                self.sign_in(user)
                self.assertEqual(self.client.get(url).status_code, 403)
                self.assertEqual(self.client.post(url, self.form()).status_code, 403)
        self.assertFalse(Course.objects.exists())


class CoursePageTests(CourseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        prescriber = actor_for(cls.prescriber, cls.clinic_a)
        for patient in (cls.patient, cls.other_patient):
            screening = create_screening(prescriber, patient, SAFE_ANSWERS, [])
            sign_screening(prescriber, screening, acknowledge_cautions=True)

    def test_it_shows_the_course_progress_and_calendar_by_treatment_week(self):
        course = self.start(payer="Acme Health", authorized_units=36)
        self.deliver(course, 1, 2, signed=True)
        self.deliver(course, 3, signed=False)
        self.sign_in(self.tms)
        page = self.client.get(f"/courses/{course.id}/")
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "2 of 36 delivered")
        for week in range(1, 10):
            self.assertContains(page, f"Week {week} ")
        self.assertNotContains(page, "Week 10 ")
        self.assertContains(page, "✓ Signed", count=2)
        self.assertContains(page, "● In progress", count=1)
        self.assertContains(page, "Planned", count=33)
        first = course.sessions.get(number=1)
        self.assertContains(page, f'href="/sessions/{first.id}/"')
        self.assertContains(page, "Acute")
        self.assertContains(page, "Taper")
        self.assertEqual(
            AuditEvent.objects.filter(action=Action.READ, object_id=str(course.id)).count(), 1
        )

    def test_the_course_page_runs_a_fixed_number_of_queries(self):
        short = self.start("ketamine-iv-induction")
        long = self.start("tms-10hz", patient=self.other_patient)
        self.close(next_monday(self.clinic_a, 2))
        self.sign_in(self.nurse)
        self.client.get(f"/courses/{short.id}/")  # warm the session and user caches
        for course in (short, long):
            count = course.sessions.count()
            # 13: the sessions' appointments (treatments.hooks.session_bookings) are one more;
            # 15: the payer's authorised sessions and the prior authorisation card (billing)
            with self.subTest(sessions=count), self.assertNumQueries(15 + AUDIT_LOCK_QUERIES):
                self.assertEqual(self.client.get(f"/courses/{course.id}/").status_code, 200)

    def test_the_authorised_units_warning_grows_louder(self):
        course = self.start("ketamine-iv-induction", authorized_units=4)
        self.sign_in(self.nurse)
        url = f"/courses/{course.id}/"
        page = self.client.get(url)
        self.assertContains(page, "The calendar plans 6 sessions; the payer authorised 4")
        self.assertNotContains(page, "authorised sessions left")
        self.deliver(course, 1)
        page = self.client.get(url)
        self.assertContains(page, "Only 3 authorised sessions left")
        self.assertContains(page, "Not authorised", count=2)  # sessions 5 and 6
        self.deliver(course, 2, 3, 4)
        self.assertContains(self.client.get(url), "No authorised sessions left")
        self.deliver(course, 5)
        self.assertContains(self.client.get(url), "Payer authorisation exceeded")

    def test_the_warning_threshold_is_a_clinic_setting(self):
        course = self.start("ketamine-iv-induction", authorized_units=6)
        self.sign_in(self.nurse)
        url = f"/courses/{course.id}/"
        self.assertNotContains(self.client.get(url), "authorised sessions left")
        self.clinic_a.settings = {"authorization_warn_remaining": 6}
        self.clinic_a.save()
        self.assertContains(self.client.get(url), "Only 6 authorised sessions left")

    def test_front_desk_reads_the_course_without_session_links(self):
        course = self.start()
        self.sign_in(self.front_desk)
        page = self.client.get(f"/courses/{course.id}/")
        self.assertEqual(page.status_code, 200)
        # The day's list (/sessions/today/) is theirs; a session's documentation is not.
        self.assertNotRegex(page.content.decode(), r'href="/sessions/[0-9a-f]{8}-')
        self.assertNotContains(page, "Re-plan")

    def test_other_clinics_get_404_and_roles_without_the_right_403(self):
        course = self.start()
        monday = next_monday(self.clinic_a, 3).isoformat()
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(f"/courses/{course.id}/").status_code, 404)
        self.assertEqual(
            self.client.post(f"/courses/{course.id}/replan/", {"from_date": monday}).status_code,
            404,
        )
        self.assertEqual(
            self.client.post(f"/courses/{course.id}/stop/", {"reason": "x"}).status_code, 404
        )
        self.sign_in(self.admin)
        self.assertEqual(self.client.get(f"/courses/{course.id}/").status_code, 403)
        for user in (self.therapist, self.front_desk):
            with self.subTest(user=user.username):
                self.sign_in(user)
                response = self.client.post(f"/courses/{course.id}/replan/", {"from_date": monday})
                self.assertEqual(response.status_code, 403)
                response = self.client.post(f"/courses/{course.id}/stop/", {"reason": "x"})
                self.assertEqual(response.status_code, 403)
        course.refresh_from_db()
        self.assertEqual(course.status, CourseStatus.ACTIVE)
        self.assertEqual(self.client.get("/courses/not-a-uuid/").status_code, 404)


class ReplanTests(CourseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        prescriber = actor_for(cls.prescriber, cls.clinic_a)
        screening = create_screening(prescriber, cls.patient, SAFE_ANSWERS, [])
        sign_screening(prescriber, screening, acknowledge_cautions=True)

    def dates(self, course) -> dict[int, date]:
        return dict(course.sessions.values_list("number", "planned_date"))

    def test_it_keeps_numbering_and_skips_weekends_and_closures(self):
        course = self.start("tms-10hz")
        self.deliver(course, 1, 2, 3, signed=True)
        before = self.dates(course)
        new_start = next_monday(self.clinic_a, 3)
        closed = {new_start + timedelta(days=1), new_start + timedelta(days=9)}
        self.close(*closed, reason="Staff training")

        self.sign_in(self.tms)
        response = self.client.post(
            f"/courses/{course.id}/replan/", {"from_date": new_start.isoformat()}
        )
        self.assertRedirects(response, f"/courses/{course.id}/")
        after = self.dates(course)
        self.assertEqual(sorted(after), list(range(1, 37)))
        self.assertEqual([after[n] for n in (1, 2, 3)], [before[n] for n in (1, 2, 3)])
        self.assertEqual(after[4], new_start)
        moved = [after[n] for n in range(4, 37)]
        self.assertEqual(moved, sorted(moved))
        self.assertEqual(len(set(moved)), len(moved))  # TMS: at most one a day
        self.assertTrue(all(is_open(day, closed) for day in moved), moved)
        # The daily weeks carry on daily over open days, then the 3-2-1 taper follows.
        open_days = [new_start + timedelta(days=n) for n in range(60)]
        open_days = [d for d in open_days if is_open(d, closed)]
        self.assertEqual(moved[:27], open_days[:27])
        self.assertEqual(
            list(course.sessions.filter(number__gte=31).values_list("phase", flat=True)),
            ["taper"] * 6,
        )
        event = AuditEvent.objects.filter(action=Action.UPDATE, object_id=str(course.id)).get()
        self.assertEqual(event.detail["replanned_from"], new_start.isoformat())
        self.assertEqual([m["number"] for m in event.detail["sessions"]], list(range(4, 37)))
        page = self.client.get(f"/courses/{course.id}/")
        self.assertContains(page, "Clinic closed")

    def test_ketamine_keeps_its_three_a_week_rhythm(self):
        course = self.start("ketamine-iv-induction")
        self.deliver(course, 1, 2)
        new_start = next_monday(self.clinic_a, 3)
        services.replan_course(actor_for(self.nurse, self.clinic_a), course, new_start)
        after = self.dates(course)
        self.assertEqual(
            [after[n] for n in (3, 4, 5, 6)],
            [new_start + timedelta(days=d) for d in (0, 2, 4, 7)],
        )

    def test_a_course_not_yet_begun_moves_its_start_date(self):
        course = self.start("esketamine-trd")
        new_start = next_monday(self.clinic_a, 2) + timedelta(days=2)  # a Wednesday
        services.replan_course(actor_for(self.nurse, self.clinic_a), course, new_start)
        course.refresh_from_db()
        self.assertEqual(course.start_date, new_start)
        after = self.dates(course)
        self.assertEqual((after[1], after[2]), (new_start, new_start + timedelta(days=5)))
        event = AuditEvent.objects.get(action=Action.UPDATE, object_id=str(course.id))
        self.assertEqual(event.detail["start_date"]["to"], new_start.isoformat())

    def test_it_refuses_dates_in_the_past_or_too_soon_after_a_kept_session(self):
        course = self.start("ketamine-iv-induction")
        self.deliver(course, 1)
        first = course.sessions.get(number=1).planned_date
        before = self.dates(course)
        self.sign_in(self.nurse)
        today = services.clinic_today(self.clinic_a)
        for from_date, message in [
            (today - timedelta(days=1), "Re-plan from: must be"),
            (first + timedelta(days=1), f"session 1 is on {first.isoformat()}"),
        ]:
            with self.subTest(from_date=from_date):
                response = self.client.post(
                    f"/courses/{course.id}/replan/",
                    {"from_date": from_date.isoformat()},
                    follow=True,
                )
                self.assertContains(response, message)
        self.assertEqual(self.dates(course), before)
        self.assertFalse(
            AuditEvent.objects.filter(action=Action.UPDATE, object_id=str(course.id)).exists()
        )

    def test_it_refuses_a_date_more_than_a_year_ahead_by_name(self):
        course = self.start("ketamine-iv-induction")
        before = self.dates(course)
        self.sign_in(self.nurse)
        today = services.clinic_today(self.clinic_a)
        for from_date in (today + timedelta(days=367), date(9999, 12, 20)):
            with self.subTest(from_date=from_date):
                response = self.client.post(
                    f"/courses/{course.id}/replan/",
                    {"from_date": from_date.isoformat()},
                    follow=True,
                )
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, "Re-plan from: must be within a year from today")
        self.assertEqual(self.dates(course), before)

    def test_the_service_refuses_another_clinics_course(self):
        course = self.start("ketamine-iv-induction")
        before = self.dates(course)
        with self.assertRaises(Http404):
            services.replan_course(
                actor_for(self.prescriber_b, self.clinic_b), course, next_monday(self.clinic_a, 3)
            )
        self.assertEqual(self.dates(course), before)

    def test_a_stopped_course_cannot_be_replanned(self):
        course = self.start("ketamine-iv-induction")
        services.stop_course(actor_for(self.nurse, self.clinic_a), course, "Moved away")
        self.sign_in(self.nurse)
        response = self.client.post(
            f"/courses/{course.id}/replan/",
            {"from_date": next_monday(self.clinic_a, 3).isoformat()},
            follow=True,
        )
        self.assertContains(response, "only an active course can be re-planned")


class StopCourseTests(CourseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        prescriber = actor_for(cls.prescriber, cls.clinic_a)
        screening = create_screening(prescriber, cls.patient, SAFE_ANSWERS, [])
        sign_screening(prescriber, screening, acknowledge_cautions=True)

    def test_stopping_needs_a_reason_and_cancels_the_remaining_sessions(self):
        course = self.start("ketamine-iv-induction")
        self.deliver(course, 1, 2, signed=True)
        self.sign_in(self.nurse)
        url = f"/courses/{course.id}/stop/"
        self.assertContains(self.client.post(url, {"reason": " "}, follow=True), "say why")
        course.refresh_from_db()
        self.assertEqual(course.status, CourseStatus.ACTIVE)

        response = self.client.post(url, {"reason": "Intolerable dissociation"})
        self.assertRedirects(response, f"/courses/{course.id}/")
        course.refresh_from_db()
        self.assertEqual(
            (course.status, course.end_reason), (CourseStatus.STOPPED, "Intolerable dissociation")
        )
        self.assertIsNotNone(course.ended_at)
        statuses = dict(course.sessions.values_list("number", "status"))
        self.assertEqual(
            statuses, {1: "signed", 2: "signed", **dict.fromkeys(range(3, 7), "cancelled")}
        )
        event = AuditEvent.objects.get(action=Action.UPDATE, object_id=str(course.id))
        self.assertEqual(event.detail["cancelled_sessions"], [3, 4, 5, 6])
        page = self.client.get(f"/courses/{course.id}/")
        self.assertContains(page, "Intolerable dissociation")
        self.assertNotContains(page, "Stop this course")
        again = self.client.post(url, {"reason": "Twice"}, follow=True)
        self.assertContains(again, "already stopped")

    def test_the_service_refuses_another_clinics_course(self):
        course = self.start("ketamine-iv-induction")
        with self.assertRaises(Http404):
            services.stop_course(actor_for(self.prescriber_b, self.clinic_b), course, "Moved")
        course.refresh_from_db()
        self.assertEqual(course.status, CourseStatus.ACTIVE)


class ClosureTests(CourseTestCase):
    def test_the_administrator_adds_and_removes_closure_days_audited(self):
        day = next_monday(self.clinic_a, 2)
        self.sign_in(self.admin)
        response = self.client.post(
            "/clinic/closures/", {"date": day.isoformat(), "reason": "Juneteenth"}
        )
        self.assertRedirects(response, "/clinic/closures/")
        self.assertEqual(ClosureDay.objects.get(clinic=self.clinic_a).reason, "Juneteenth")
        page = self.client.get("/clinic/closures/")
        self.assertContains(page, "Juneteenth")
        event = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual(
            (event.action, event.object_type, event.object_id, event.clinic),
            (Action.CREATE, "treatments.closureday", day.isoformat(), self.clinic_a),
        )
        response = self.client.post("/clinic/closures/remove/", {"date": day.isoformat()})
        self.assertRedirects(response, "/clinic/closures/")
        self.assertFalse(ClosureDay.objects.exists())
        event = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual((event.action, event.detail["reason"]), (Action.DELETE, "Juneteenth"))

    def test_past_and_duplicate_days_are_refused_by_name(self):
        today = services.clinic_today(self.clinic_a)
        self.close(today + timedelta(days=3), reason="Inventory")
        self.close(today - timedelta(days=3), reason="Storm")
        self.sign_in(self.admin)
        for value, message in [
            ((today - timedelta(days=1)).isoformat(), "Is in the past"),
            ((today + timedelta(days=3)).isoformat(), "Is already a closure day (Inventory)"),
            ("not a date", "Enter a valid date"),
        ]:
            with self.subTest(value=value):
                response = self.client.post("/clinic/closures/", {"date": value, "reason": ""})
                self.assertEqual(response.status_code, 200)
                self.assertIn(message, " ".join(response.context["form"].errors["date"]))
        response = self.client.post(
            "/clinic/closures/remove/",
            {"date": (today - timedelta(days=3)).isoformat()},
            follow=True,
        )
        self.assertContains(response, "past closures stay on record")
        self.assertEqual(ClosureDay.objects.count(), 2)

    def test_a_day_closed_meanwhile_by_another_request_is_refused_by_name(self):
        day = next_monday(self.clinic_a, 2)
        self.close(day, reason="Inventory")
        self.sign_in(self.admin)
        # The other request inserts between this one's check and its insert: the check sees
        # nothing, the database's unique constraint refuses the insert.
        real_filter = ClosureDay.objects.filter

        def check_misses_it(*args, **kwargs):
            rows = real_filter(*args, **kwargs)
            return rows.none() if kwargs.get("date") == day else rows

        with mock.patch.object(ClosureDay.objects, "filter", side_effect=check_misses_it):
            response = self.client.post(
                "/clinic/closures/", {"date": day.isoformat(), "reason": "Staff training"}
            )
        self.assertEqual(response.status_code, 200)
        self.assertIn("Is already a closure day", response.context["form"].errors["date"])
        self.assertEqual(ClosureDay.objects.get(clinic=self.clinic_a).reason, "Inventory")
        self.assertFalse(AuditEvent.objects.filter(object_type="treatments.closureday").exists())

    def test_it_counts_sessions_already_planned_on_a_new_closure_day(self):
        self.sign_screening_for(self.patient)
        course = self.start("ketamine-iv-induction")
        first = course.sessions.get(number=1).planned_date
        self.sign_in(self.admin)
        response = self.client.post(
            "/clinic/closures/", {"date": first.isoformat(), "reason": "Flood"}, follow=True
        )
        self.assertContains(response, "1 planned session falls on that day already")
        self.assertContains(response, "1 planned session on this day")
        self.assertNotContains(response, self.patient.family_name)
        self.sign_in(self.nurse)
        self.assertContains(self.client.get(f"/courses/{course.id}/"), "On a closure day")

    def test_only_the_administrator_changes_closures_and_each_clinic_its_own(self):
        day = next_monday(self.clinic_a, 2)
        self.close(day, reason="Alpha holiday")
        for user in (self.prescriber, self.nurse, self.front_desk):
            with self.subTest(user=user.username):
                self.sign_in(user)
                self.assertEqual(self.client.get("/clinic/closures/").status_code, 403)
                response = self.client.post("/clinic/closures/remove/", {"date": day.isoformat()})
                self.assertEqual(response.status_code, 403)
        beta_admin = self.make_beta_admin()
        self.sign_in(beta_admin)
        self.assertNotContains(self.client.get("/clinic/closures/"), "Alpha holiday")
        self.client.post("/clinic/closures/remove/", {"date": day.isoformat()})
        self.assertTrue(ClosureDay.objects.filter(clinic=self.clinic_a, date=day).exists())

    def make_beta_admin(self):
        from trellis.testing import make_staff

        return make_staff("admin_b", self.clinic_b, Role.CLINIC_ADMIN)


class PatientCoursesPanelTests(CourseTestCase):
    def render(self, user, patient=None):
        return self.render_as(actor_for(user, self.clinic_a), patient)

    def render_as(self, actor, patient=None):
        """The card as the patient's page renders it: loaded by the view, drawn by the tag."""
        cards = panels.for_page(actor, patient or self.patient)
        template = Template("{% load treatments_tags %}{% patient_courses_panel card %}")
        return template.render(Context({"card": cards.get("courses")}))

    def test_it_lists_the_courses_with_progress_and_a_start_button(self):
        self.sign_screening_for(self.patient)
        course = self.start("ketamine-iv-induction", authorized_units=3)
        self.deliver(course, 1, signed=True)
        html = self.render(self.nurse)
        self.assertIn("IV ketamine induction series", html)
        self.assertIn(f"/courses/{course.id}/", html)
        self.assertIn("1 of 6 delivered", html)
        self.assertIn("2 of 3 left", html)
        self.assertIn(f"/patients/{self.patient.id}/courses/new/", html)
        front_desk = actor_for(self.front_desk, self.clinic_a)
        # The courses, and the appointments card's own two: its appointments, and (for front
        # desk, who may change appointments) the patient's calendar link in use; the payer's
        # authorised sessions, and the insurance card's four (coverage, the patient's prior
        # authorisations, their sessions used — counted only when there are any — and
        # estimates); the problem list and the
        # account's balance, one each; the groups card's one: the patient's enrolments; the
        # plans card's two: combined plans and maintenance plans (no relapse flag for front
        # desk); and the portal card's two: the patient's portal sign-in and their latest
        # invitation.
        with self.assertNumQueries(15):
            self.render_as(front_desk)

    def test_it_renders_nothing_without_the_right_and_no_button_for_readers(self):
        self.assertEqual(self.render(self.admin).strip(), "")
        html = self.render(self.front_desk, self.other_patient)
        self.assertIn("No treatment course yet", html)
        self.assertNotIn("Start a course", html)
