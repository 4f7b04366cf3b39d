"""Sessions happen on their day and in order: beginning one early, late or before the one ahead
of it is over takes a prescriber's reason; sessions can be cancelled, marked no-show or not
given, and the course counts them; a weight measured at an infusion joins the weight history."""

import importlib
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from trellis.accounts.services import issue_token
from trellis.audit.models import Action, AuditEvent
from trellis.lib.errors import Conflict, InputError
from trellis.patients.models import BodyMeasurement
from trellis.patients.services import record_measurement
from trellis.testing import actor_for
from trellis.treatments import services, sessions
from trellis.treatments.models import CourseStatus, Session, SessionStatus
from trellis.treatments.tests.test_courses import CourseTestCase


def day_label(day: date) -> str:
    return f"{day:%a %b %-d}"


class SessionOrderTestCase(CourseTestCase):
    """A six-infusion IV ketamine course whose sessions are put on days around today."""

    def setUp(self):
        self.sign_screening_for(self.patient)
        self.today = self.clinic_a.today()
        self.course = self.start("ketamine-iv-induction", authorized_units=6)
        self.nurse_actor = actor_for(self.nurse, self.clinic_a)
        self.prescriber_actor = actor_for(self.prescriber, self.clinic_a)

    def place(self, number: int, day: date) -> Session:
        Session.objects.filter(course=self.course, number=number).update(planned_date=day)
        return self.session(number)

    def session(self, number: int) -> Session:
        return Session.objects.select_related("course__protocol", "clinic", "patient").get(
            course=self.course, number=number
        )

    def sign_off(self, *numbers: int) -> None:
        """Sessions given and signed (what signing leaves behind)."""
        Session.objects.filter(course=self.course, number__in=numbers).update(
            status=SessionStatus.SIGNED,
            started_at=timezone.now() - timedelta(days=3),
            signed_at=timezone.now() - timedelta(days=3),
            signed_by=self.prescriber,
        )


class BeginOnItsDayTests(SessionOrderTestCase):
    def test_a_session_due_today_with_nothing_open_before_it_begins(self):
        first = self.place(1, self.today)
        self.sign_in(self.nurse)
        page = self.client.get(f"/sessions/{first.id}/")
        self.assertContains(page, f'action="/sessions/{first.id}/begin/"')
        self.assertNotContains(page, "begin-blocked")
        self.assertRedirects(
            self.client.post(f"/sessions/{first.id}/begin/"), f"/sessions/{first.id}/"
        )
        first.refresh_from_db()
        self.assertEqual(first.status, SessionStatus.IN_PROGRESS)
        self.assertEqual((first.begin_override_reason, first.planned_date), ("", self.today))

    def test_a_nurse_cannot_begin_a_session_before_its_day(self):
        tomorrow = self.today + timedelta(days=1)
        first = self.place(1, tomorrow)
        self.sign_in(self.nurse)
        page = self.client.get(f"/sessions/{first.id}/")
        self.assertContains(page, f"Session 1 is planned for {day_label(tomorrow)}.")
        self.assertContains(page, "Only a prescriber can begin it on another day")
        self.assertNotContains(page, 'name="reason" rows="2" required maxlength="2000"')
        self.assertNotContains(page, ">Begin session 1</button>")

        page = self.client.post(f"/sessions/{first.id}/begin/", follow=True)
        self.assertContains(page, f"Session 1 is planned for {day_label(tomorrow)}.")
        self.assertContains(page, "A prescriber may begin it anyway, with a reason.")
        first.refresh_from_db()
        self.assertEqual(first.status, SessionStatus.PLANNED)

    def test_a_nurse_who_gives_a_reason_is_told_only_a_prescriber_may(self):
        first = self.place(1, self.today + timedelta(days=2))
        self.sign_in(self.nurse)
        page = self.client.post(
            f"/sessions/{first.id}/begin/", {"reason": "Patient is here"}, follow=True
        )
        self.assertContains(page, "Only a prescriber may begin a session on another day")
        first.refresh_from_db()
        self.assertEqual(first.status, SessionStatus.PLANNED)
        with self.assertRaises(PermissionDenied):
            sessions.begin_session(self.nurse_actor, first, reason="Patient is here")

    def test_a_prescriber_begins_early_with_a_reason_recorded_and_audited(self):
        planned = self.today + timedelta(days=2)
        first = self.place(1, planned)
        self.sign_in(self.prescriber)
        page = self.client.get(f"/sessions/{first.id}/")
        self.assertContains(page, "Begin session 1 early…")
        self.assertContains(page, "Why begin it now?")

        response = self.client.post(f"/sessions/{first.id}/begin/", {"reason": "  "}, follow=True)
        self.assertContains(response, "A prescriber may begin it anyway, with a reason.")
        reason = "Travelling on the planned day; same dose"
        response = self.client.post(f"/sessions/{first.id}/begin/", {"reason": reason})
        self.assertRedirects(response, f"/sessions/{first.id}/")
        first.refresh_from_db()
        self.assertEqual(first.status, SessionStatus.IN_PROGRESS)
        # The session is now on the day it was given; the plan's day is kept.
        self.assertEqual(
            (first.planned_date, first.planned_date_before_begin), (self.today, planned)
        )
        self.assertEqual(
            (first.begin_override_reason, first.begin_override_by), (reason, self.prescriber)
        )
        event = AuditEvent.objects.filter(action=Action.UPDATE, object_id=str(first.id)).get()
        self.assertEqual(event.detail["begin_override_reason"], reason)
        self.assertEqual(
            event.detail["planned_date"],
            {"from": planned.isoformat(), "to": self.today.isoformat()},
        )
        page = self.client.get(f"/sessions/{first.id}/")
        self.assertContains(page, f"Begun early (planned for {day_label(planned)})")
        self.assertContains(page, reason)

    def test_a_session_waits_for_the_one_before_it(self):
        self.place(1, self.today - timedelta(days=2))
        second = self.place(2, self.today)
        self.sign_in(self.nurse)
        page = self.client.get(f"/sessions/{second.id}/")
        self.assertContains(page, "Session 1 (")
        self.assertContains(page, "has not been given: begin and sign it, or mark it cancelled")
        response = self.client.post(f"/sessions/{second.id}/begin/", follow=True)
        self.assertContains(response, "has not been given")
        second.refresh_from_db()
        self.assertEqual(second.status, SessionStatus.PLANNED)

        # Session 1 was missed: once it is marked so, session 2 begins on its day.
        sessions.mark_no_show(self.nurse_actor, self.session(1), "Did not come; no answer")
        self.assertRedirects(
            self.client.post(f"/sessions/{second.id}/begin/"), f"/sessions/{second.id}/"
        )
        second.refresh_from_db()
        self.assertEqual(second.status, SessionStatus.IN_PROGRESS)

    def test_a_session_in_progress_holds_back_the_next_until_signed_or_not_given(self):
        self.place(1, self.today)
        self.place(2, self.today)
        sessions.begin_session(self.nurse_actor, self.session(1))
        with self.assertRaisesMessage(Conflict, "Session 1 is still in progress"):
            sessions.begin_session(self.nurse_actor, self.session(2))
        # A prescriber may go ahead, with the reason on record.
        second = sessions.begin_session(
            self.prescriber_actor, self.session(2), reason="Session 1 note to be finished later"
        )
        self.assertEqual(second.status, SessionStatus.IN_PROGRESS)
        self.assertIsNone(second.planned_date_before_begin)
        event = AuditEvent.objects.filter(action=Action.UPDATE, object_id=str(second.id)).get()
        self.assertEqual(event.detail["earlier_session_open"], 1)

    def test_today_is_the_clinics_date_not_the_servers(self):
        """A clinic at UTC+14: at 11:00 UTC on Mar 10 it is already Mar 11 there."""
        self.clinic_a.timezone = "Pacific/Kiritimati"
        self.clinic_a.save(update_fields=["timezone"])
        now = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
        first = self.place(1, date(2026, 3, 10))
        with self.assertRaisesMessage(Conflict, "Session 1 was planned for Tue Mar 10."):
            sessions.begin_session(self.nurse_actor, first, now=now)
        first = self.place(1, date(2026, 3, 11))
        sessions.begin_session(self.nurse_actor, first, now=now)
        first.refresh_from_db()
        self.assertEqual(sessions.session_day(first), date(2026, 3, 11))


class TodayPageTests(SessionOrderTestCase):
    def test_the_day_list_offers_begin_only_where_a_session_may_begin(self):
        self.place(1, self.today - timedelta(days=2))
        second = self.place(2, self.today)
        self.sign_screening_for(self.other_patient)
        other = self.start("tms-10hz", patient=self.other_patient)
        Session.objects.filter(course=other, number=1).update(planned_date=self.today)
        ready = other.sessions.get(number=1)
        self.sign_in(self.nurse)
        page = self.client.get("/sessions/today/")
        self.assertContains(page, f'action="/sessions/{ready.id}/begin/"')
        self.assertNotContains(page, f'action="/sessions/{second.id}/begin/"')
        self.assertContains(page, "Session 1 (")
        self.assertContains(page, "has not been given")
        self.assertContains(page, f'href="/sessions/{self.session(1).id}/">Open session 1</a>')

        self.sign_in(self.prescriber)
        page = self.client.get("/sessions/today/")
        self.assertContains(page, "Begin session 2 anyway…")
        self.assertContains(page, f'action="/sessions/{second.id}/begin/"')


class ClosingSessionsTests(SessionOrderTestCase):
    def test_a_future_session_is_cancelled_with_a_reason_and_not_counted(self):
        later = self.place(4, self.today + timedelta(days=7))
        self.sign_in(self.nurse)
        page = self.client.get(f"/sessions/{later.id}/")
        self.assertContains(page, "Cancel, no-show or not given…")
        self.assertContains(page, 'value="cancelled"')
        self.assertNotContains(page, 'value="no_show"')  # it has not come yet

        page = self.client.post(
            f"/sessions/{later.id}/close/", {"status": "cancelled", "reason": ""}, follow=True
        )
        self.assertContains(page, "Reason: say why the session is cancelled.")
        later.refresh_from_db()
        self.assertEqual(later.status, SessionStatus.PLANNED)

        reason = "Patient on holiday that week"
        response = self.client.post(
            f"/sessions/{later.id}/close/", {"status": "cancelled", "reason": reason}
        )
        self.assertRedirects(response, f"/sessions/{later.id}/")
        later.refresh_from_db()
        self.assertEqual(
            (later.status, later.closed_reason, later.closed_by),
            (SessionStatus.CANCELLED, reason, self.nurse),
        )
        event = AuditEvent.objects.filter(action=Action.UPDATE, object_id=str(later.id)).get()
        self.assertEqual(event.detail, {"status": "cancelled", "reason": reason})
        page = self.client.get(f"/courses/{self.course.id}/")
        self.assertContains(page, "✕ Cancelled")
        self.assertContains(page, reason)
        self.assertContains(page, "<dt>Cancelled</dt><dd>1 session</dd>", html=False)

    def test_no_show_waits_for_the_day_and_not_given_follows_a_begun_session(self):
        future = self.place(3, self.today + timedelta(days=3))
        with self.assertRaisesMessage(Conflict, "a session still to come can be cancelled"):
            sessions.mark_no_show(self.nurse_actor, future, "Not here")
        with self.assertRaisesMessage(Conflict, "a session still to come can be cancelled"):
            sessions.mark_not_given(self.nurse_actor, future, "Not here")

        first = self.place(1, self.today)
        sessions.begin_session(self.nurse_actor, first)
        with self.assertRaisesMessage(Conflict, "Session 1 has begun"):
            sessions.cancel_session(self.nurse_actor, self.session(1), "Changed mind")
        self.sign_in(self.nurse)
        page = self.client.get(f"/sessions/{first.id}/")
        self.assertContains(page, "Treatment not given…")
        self.assertNotContains(page, 'value="cancelled"')
        reason = "Pre-dose BP 182/110 on two readings"
        self.client.post(f"/sessions/{first.id}/close/", {"status": "not_given", "reason": reason})
        first.refresh_from_db()
        self.assertEqual((first.status, first.closed_reason), (SessionStatus.NOT_GIVEN, reason))
        self.assertIsNotNone(first.ended_at)
        # The note no longer changes, and the page says why.
        with self.assertRaisesMessage(Conflict, "This session was marked not given"):
            sessions.save_infusion(self.nurse_actor, first, {"note": "later"})
        page = self.client.get(f"/sessions/{first.id}/")
        self.assertContains(page, reason)
        self.assertContains(page, "Not delivered; it uses none of the course's authorised")
        self.assertNotContains(page, "Sign session")

    def test_roles_that_may_not_close_a_session_are_refused(self):
        first = self.place(1, self.today)
        self.sign_in(self.therapist)  # documents notes, does not plan or sign sessions
        page = self.client.post(
            f"/sessions/{first.id}/close/", {"status": "no_show", "reason": "x"}, follow=True
        )
        self.assertContains(page, "may not do this")
        self.sign_in(self.front_desk)
        response = self.client.post(
            f"/sessions/{first.id}/close/", {"status": "cancelled", "reason": "x"}
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.session(1).status, SessionStatus.PLANNED)

    def test_a_signed_session_cannot_be_closed(self):
        self.sign_off(1)
        with self.assertRaisesMessage(Conflict, "signed and cannot change"):
            sessions.mark_not_given(self.prescriber_actor, self.session(1), "Wrong")

    def test_a_reason_is_required_and_limited(self):
        first = self.place(1, self.today)
        with self.assertRaises(InputError) as caught:
            sessions.cancel_session(self.nurse_actor, first, "x" * 501)
        self.assertEqual(caught.exception.field, "reason")


class CourseCountsTests(SessionOrderTestCase):
    def test_progress_authorisation_calendar_and_api_count_undelivered_sessions(self):
        self.sign_off(1)
        for number in (2, 3, 4):
            self.place(number, self.today)
        sessions.mark_no_show(self.nurse_actor, self.session(2), "No answer")
        sessions.begin_session(self.nurse_actor, self.session(3))
        sessions.mark_not_given(self.nurse_actor, self.session(3), "SpO2 91 % before dosing")
        sessions.cancel_session(self.nurse_actor, self.session(4), "Illness")

        progress = services.progress(self.course.sessions.all())
        self.assertEqual(
            (progress.delivered, progress.no_show, progress.not_given, progress.cancelled),
            (1, 1, 1, 1),
        )
        self.assertEqual((progress.going_ahead, progress.open), (3, 2))
        auth = services.authorisation(
            self.course, used=progress.delivered, planned=progress.going_ahead
        )
        self.assertEqual((auth.used, auth.remaining, auth.plan_exceeds), (1, 5, False))

        self.sign_in(self.nurse)
        page = self.client.get(f"/courses/{self.course.id}/")
        self.assertContains(page, "1 of 6 delivered")
        self.assertContains(page, "1 of 6 sessions used · 5 left")
        for words in ("✓ Signed", "✕ No-show", "✕ Not given", "✕ Cancelled"):
            self.assertContains(page, words, count=1)
        self.assertContains(page, "<dt>No-show</dt>")
        self.assertContains(page, "<dt>Not given</dt>")
        # The patient page's course panel counts the same way.
        panel = self.client.get(f"/patients/{self.patient.id}/")
        self.assertContains(panel, "1 of 6 delivered")

        _, token = issue_token(self.nurse, self.clinic_a, name="test")
        body = self.client.get(
            f"/api/v1/courses/{self.course.id}", headers={"Authorization": f"Bearer {token}"}
        ).json()
        self.assertEqual(
            [s["status"] for s in body["sessions"]],
            ["signed", "no_show", "not_given", "cancelled", "planned", "planned"],
        )
        self.assertEqual(
            (body["delivered"], body["no_show"], body["not_given"], body["cancelled"]),
            (1, 1, 1, 1),
        )
        self.assertEqual(body["sessions"][2]["reason"], "SpO2 91 % before dosing")

    def test_delivered_has_one_definition_in_memory_and_in_the_database(self):
        self.sign_off(1)
        for number in (2, 3, 4):
            self.place(number, self.today)
        sessions.mark_no_show(self.nurse_actor, self.session(2), "No answer")
        sessions.cancel_session(self.nurse_actor, self.session(3), "Illness")
        sessions.begin_session(self.nurse_actor, self.session(4))
        # Signed before statuses were kept: the signature is what counts.
        Session.objects.filter(course=self.course, number=5).update(signed_at=timezone.now())
        rows = self.course.sessions.all()
        delivered = {s.number for s in rows.delivered()}
        self.assertEqual(delivered, {1, 5})
        self.assertEqual({s.number for s in rows if s.is_delivered}, delivered)
        self.assertEqual({s.number for s in rows.undelivered()}, {2, 3})
        self.assertEqual({s.number for s in rows if s.is_undelivered}, {2, 3})
        self.assertEqual(services.progress(rows).delivered, 2)

    def test_closing_the_last_open_session_completes_the_course(self):
        self.sign_off(1, 2, 3, 4, 5)
        last = self.place(6, self.today)
        sessions.mark_no_show(self.nurse_actor, last, "Moved away")
        self.course.refresh_from_db()
        self.assertEqual(self.course.status, CourseStatus.COMPLETED)


class WeightHistoryTests(SessionOrderTestCase):
    NOTE = {
        "dose_mg_per_kg": Decimal("0.5"),
        "minutes": 40,
        "vial_mg_per_ml": Decimal("50"),
        "diluent_ml": Decimal("100"),
    }

    def begin_yesterday(self) -> Session:
        yesterday = self.today - timedelta(days=1)
        first = self.place(1, yesterday)
        start = datetime.combine(yesterday, time(9), self.clinic_a.tzinfo)
        sessions.begin_session(self.nurse_actor, first, now=start)
        return self.session(1)

    def test_a_weight_measured_at_the_infusion_joins_the_history_on_the_sessions_day(self):
        record_measurement(
            self.prescriber_actor,
            self.patient,
            measured_on=self.today - timedelta(days=30),
            weight_kg=80,
        )
        first = self.begin_yesterday()
        self.assertEqual(first.infusion.weight_kg, Decimal("80.0"))
        yesterday = self.today - timedelta(days=1)

        # The weight the note opened with, weighed a month ago: nothing new to record.
        sessions.save_infusion(self.nurse_actor, first, {**self.NOTE, "weight_kg": Decimal("80")})
        self.assertEqual(self.patient.measurements.count(), 1)

        self.sign_in(self.nurse)
        response = self.client.post(
            f"/sessions/{first.id}/save/",
            {
                "weight_kg": "82.5",
                "weight_measured_on": (self.today - timedelta(days=30)).isoformat(),
                "dose_mg_per_kg": "0.5",
                "minutes": "40",
                "vial_mg_per_ml": "50",
                "diluent_ml": "100",
            },
        )
        self.assertRedirects(response, f"/sessions/{first.id}/")
        latest = self.patient.latest_measurement("weight_kg")
        self.assertEqual((latest.weight_kg, latest.measured_on), (Decimal("82.5"), yesterday))
        self.assertEqual(latest.recorded_by, self.nurse)
        first = self.session(1)
        self.assertEqual(first.infusion.weight_measured_on, yesterday)
        self.assertTrue(
            AuditEvent.objects.filter(action=Action.CREATE, object_id=str(latest.id)).exists()
        )
        # Saving the note again does not write the same weight twice.
        sessions.save_infusion(self.nurse_actor, first, {**self.NOTE, "weight_kg": Decimal("82.5")})
        self.assertEqual(
            BodyMeasurement.objects.filter(patient=self.patient, measured_on=yesterday).count(), 1
        )

    def test_the_weights_date_is_the_clinics_date_of_the_session(self):
        """At 11:00 UTC on Mar 10 a clinic at UTC+14 is on Mar 11: so is the weight."""
        self.clinic_a.timezone = "Pacific/Kiritimati"
        self.clinic_a.save(update_fields=["timezone"])
        first = self.place(1, date(2026, 3, 11))
        sessions.begin_session(
            self.nurse_actor, first, now=datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
        )
        first = self.session(1)
        sessions.save_infusion(self.nurse_actor, first, {**self.NOTE, "weight_kg": Decimal("70")})
        weight = self.patient.latest_measurement("weight_kg")
        self.assertEqual(
            (weight.weight_kg, weight.measured_on), (Decimal("70.0"), date(2026, 3, 11))
        )

    def test_an_implausible_weight_is_refused_by_field(self):
        first = self.begin_yesterday()
        with self.assertRaises(InputError) as caught:
            sessions.save_infusion(self.nurse_actor, first, {"weight_kg": Decimal("4")})
        self.assertEqual(caught.exception.field, "weight_kg")
        self.assertFalse(self.patient.measurements.exists())


class StatusMigrationTests(SessionOrderTestCase):
    def test_sessions_stored_as_completed_become_signed(self):
        migration = importlib.import_module(
            "trellis.treatments.migrations.0009_session_statuses_and_reasons"
        )
        Session.objects.filter(course=self.course, number=1).update(status="completed")
        migration.completed_is_signed(apps, None)
        self.assertEqual(self.session(1).status, SessionStatus.SIGNED)
