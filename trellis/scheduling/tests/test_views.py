"""The calendar pages: the day by resource, the week, booking, moving, changes of status from
the day view, a course's sessions booked in one step, the patient page's card."""

from datetime import datetime, time, timedelta

from django.template import Context, Template

from trellis.audit.models import Action, AuditEvent
from trellis.demo.appointments import add_appointments
from trellis.patients import panels
from trellis.patients.services import create_screening, sign_screening
from trellis.scheduling import services
from trellis.scheduling.kinds import ResourceKind
from trellis.scheduling.models import Appointment, ResourceBlock
from trellis.scheduling.tests.base import SchedulingTestCase, add_resource
from trellis.testing import SAFE_ANSWERS, actor_for
from trellis.treatments import services as treatment_services
from trellis.treatments.models import SessionStatus
from trellis.treatments.tests.helpers import antidepressant

HTMX = {"HTTP_HX_REQUEST": "true"}


class CalendarTestCase(SchedulingTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.today = self.clinic_a.today()

    def today_at(self, hour: int, minute: int = 0):
        return self.at(hour, minute, day=self.today)

    def status(self, appointment, status, reason="", **headers):
        return self.client.post(
            f"/calendar/appointments/{appointment.id}/status/",
            {"status": status, "reason": reason},
            **headers,
        )

    def start_course(self, protocol="ketamine-iv-induction", start=None, patient=None):
        patient = patient or self.patient
        prescriber = actor_for(self.prescriber, self.clinic_a)
        screening = create_screening(prescriber, patient, SAFE_ANSWERS, [])
        sign_screening(prescriber, screening, acknowledge_cautions=True)
        return treatment_services.start_course(
            actor_for(self.nurse, self.clinic_a),
            patient,
            protocol,
            start or self.monday,
            with_antidepressant=antidepressant(protocol),
        )


class DayViewTests(CalendarTestCase):
    def test_the_day_has_a_column_per_resource_and_the_appointment_in_its_own(self):
        self.book(resource=self.chair_2, start=self.at(9, 30), staff=self.nurse)
        self.book(patient=self.other_patient, kind="assessment", start=self.at(10))
        self.sign_in(self.therapist)
        page = self.client.get(f"/calendar/?date={self.monday.isoformat()}")
        self.assertEqual(page.status_code, 200)
        html = page.content.decode()
        for name in ("Chair 1", "Chair 2", "Room 1", "NeuroStar", "No resource"):
            self.assertIn(name, html)
        self.assertIn("09:30–11:00", html)
        self.assertIn(f'href="/patients/{self.patient.id}/"', html)
        self.assertIn("IV ketamine", html)
        # Time rows from the opening (08:00) to the closing (18:00), every quarter hour.
        self.assertIn(">08:00<", html)
        self.assertIn("17:45", html)
        self.assertNotIn(">18:00<", html)
        # A therapist sees the day but does not act on a dose.
        self.assertNotIn("Check in", html)

    def test_a_blocks_more_panel_is_fetched_as_it_opens_with_the_details_and_actions(self):
        appointment = self.book(resource=self.chair_2, start=self.today_at(9, 30), staff=self.nurse)
        self.sign_in(self.front_desk)
        page = self.client.get(f"/calendar/?date={self.today.isoformat()}").content.decode()
        address = f"/calendar/appointments/{appointment.id}/"
        # The block carries only the address of its details, and a link to them without scripts.
        self.assertIn(f'hx-get="{address}" hx-trigger="toggle once"', page)
        self.assertIn(f'<a href="{address}">Details and actions for Ada Lovelace</a>', page)
        self.assertNotIn("Reason for cancelling", page)
        reads = AuditEvent.objects.filter(action=Action.READ, object_id=str(appointment.id))
        panel = self.client.get(address, **HTMX)
        self.assertEqual(panel.status_code, 200)
        html = panel.content.decode()
        self.assertNotIn("<html", html)  # the panel alone
        self.assertIn("IV ketamine · Nurse", html)  # the kind and the staff member
        self.assertIn("Chair 2", html)
        self.assertIn("Move…", html)
        self.assertIn("Reason for cancelling", html)
        self.assertIn(f'hx-target="#appt-{appointment.id}"', html)
        self.assertIn('popovertargetaction="hide"', html)
        self.assertEqual(reads.count(), 1)  # reading it is audited
        # Without htmx, the appointment's own page: the same, its forms posting plainly.
        own = self.client.get(address)
        self.assertContains(own, "<h1>Ada Lovelace's IV ketamine</h1>", html=True)
        self.assertContains(own, "Reason for cancelling")
        self.assertNotContains(own, "hx-post")
        self.assertNotContains(own, "popovertargetaction")
        # A therapist reads it but is offered nothing to do with a dose.
        self.sign_in(self.therapist)
        panel = self.client.get(address, **HTMX)
        self.assertContains(panel, "IV ketamine · Nurse")
        self.assertNotContains(panel, "<form")

    def test_the_day_defaults_to_the_clinics_today_and_links_its_neighbours(self):
        self.sign_in(self.front_desk)
        page = self.client.get("/calendar/")
        self.assertEqual(page.context["day"], self.today)
        self.assertContains(page, f"?date={(self.today + timedelta(days=1)).isoformat()}")
        self.assertContains(page, f"/calendar/week/?date={self.today.isoformat()}")

    def test_a_bad_date_says_so_and_shows_today(self):
        self.sign_in(self.front_desk)
        for bad in ("2026-13-01", "yesterday", "99999-01-01", "0001-01-01"):
            with self.subTest(date=bad):
                page = self.client.get("/calendar/", {"date": bad})
                self.assertEqual(page.status_code, 200)
                self.assertContains(page, "is not a date (YYYY-MM-DD); showing today.")
                self.assertEqual(page.context["day"], self.today)
                week = self.client.get("/calendar/week/", {"date": bad})
                self.assertContains(week, "is not a date (YYYY-MM-DD); showing today.")

    def test_another_clinics_staff_see_their_own_day_and_cannot_touch_this_one(self):
        appointment = self.book(start=self.today_at(8), resource=self.chair)
        self.sign_in(self.prescriber_b)
        page = self.client.get(f"/calendar/?date={self.today.isoformat()}")
        self.assertNotContains(page, self.patient.full_name)
        self.assertEqual(self.status(appointment, "checked_in").status_code, 404)
        for page in ("", "move/"):
            address = f"/calendar/appointments/{appointment.id}/{page}"
            self.assertEqual(self.client.get(address).status_code, 404)
            self.assertEqual(self.client.get(address, **HTMX).status_code, 404)
        appointment.refresh_from_db()
        self.assertEqual(appointment.status, "booked")

    def test_the_calendar_link_is_in_the_top_bar(self):
        self.sign_in(self.therapist)
        self.assertContains(self.client.get("/patients/"), 'href="/calendar/"')


class DayGridTests(CalendarTestCase):
    """Each empty quarter hour in opening hours links to the booking form for it; closed or
    blocked ones do not; each block offers only what can succeed."""

    def cell_link(self, resource, at: str, day=None) -> str:
        day = day or self.monday
        query = f"date={day.isoformat()}&amp;time={at}&amp;resource={resource.pk}"
        return f'href="/calendar/book/?{query}"'

    def test_an_open_empty_cell_links_to_the_form_with_its_date_time_and_resource(self):
        self.sign_in(self.front_desk)
        page = self.client.get("/calendar/", {"date": self.monday.isoformat()})
        self.assertContains(page, self.cell_link(self.room, "08:00"))
        self.assertContains(page, self.cell_link(self.chair_2, "17:45"))
        self.assertContains(page, "Book Room 1 at 09:15")
        # The form it opens is filled in with them.
        form = self.client.get(
            "/calendar/book/",
            {
                "patient": str(self.patient.id),
                "date": self.monday.isoformat(),
                "time": "09:15",
                "resource": str(self.room.pk),
            },
        )
        self.assertContains(form, 'value="09:15"')
        self.assertContains(form, f'value="{self.monday.isoformat()}"')
        self.assertContains(form, f'<option value="{self.room.pk}" selected>')
        # From a chair's column the booking starts as a kind a chair takes, with the chair kept.
        form = self.client.get(
            "/calendar/book/",
            {
                "patient": str(self.patient.id),
                "date": self.monday.isoformat(),
                "time": "09:15",
                "resource": str(self.chair.pk),
            },
        )
        self.assertContains(form, f'<option value="{self.chair.pk}" selected>')
        self.assertContains(form, '<option value="iv_ketamine" selected>')

    def test_booked_blocked_and_closed_cells_are_not_links(self):
        late = add_resource(self.clinic_a, "Room 2", ResourceKind.ROOM, opens=time(10), ordering=5)
        ResourceBlock.objects.create(
            clinic=self.clinic_a,
            resource=self.room,
            start=self.at(12),
            end=self.at(13),
            kind="maintenance",
        )
        self.book(resource=self.chair, start=self.at(9))  # 09:00–
        self.sign_in(self.front_desk)
        page = self.client.get("/calendar/", {"date": self.monday.isoformat()})
        self.assertContains(page, self.cell_link(late, "10:00"))
        self.assertNotContains(page, self.cell_link(late, "09:45"))  # before it opens
        self.assertContains(page, 'class="cal-cell is-closed" title="Closed"')
        self.assertContains(page, self.cell_link(self.room, "11:45"))
        for at in ("12:00", "12:45"):  # in the block
            self.assertNotContains(page, self.cell_link(self.room, at))
        self.assertContains(page, 'class="cal-cell is-closed" title="Blocked"')
        self.assertContains(page, self.cell_link(self.room, "13:00"))
        for at in ("09:00", "09:15", "10:00"):  # under the appointment
            self.assertNotContains(page, self.cell_link(self.chair, at))
        self.assertContains(page, self.cell_link(self.chair, "08:45"))

    def test_a_past_day_has_no_links(self):
        self.sign_in(self.front_desk)
        page = self.client.get("/calendar/", {"date": (self.today - timedelta(days=1)).isoformat()})
        self.assertNotContains(page, 'class="cal-book"')

    def test_a_block_offers_confirm_before_its_day_and_check_in_on_it(self):
        ahead = self.book(start=self.at(9), resource=self.chair)
        self.sign_in(self.front_desk)
        page = self.client.get("/calendar/", {"date": self.monday.isoformat()})
        block = self.block(page, ahead) + self.panel(ahead)
        self.assertIn('value="confirmed"', block)
        self.assertNotIn('value="checked_in"', block)
        self.assertNotIn('value="no_show"', block)
        self.assertIn("Move…", block)
        # A past day: nothing is left to do with a completed appointment, a booked one can
        # still be closed as a no-show.
        past = self.today - timedelta(days=1)
        missed = Appointment.objects.create(
            clinic=self.clinic_a,
            patient=self.patient,
            kind="assessment",
            start=self.at(10, day=past),
            end=self.at(11, day=past),
            day=past,
            created_by=self.front_desk,
        )
        page = self.client.get("/calendar/", {"date": past.isoformat()})
        block = self.block(page, missed) + self.panel(missed)
        self.assertIn('value="no_show"', block)
        for refused in ("confirmed", "checked_in", "cancelled"):
            self.assertNotIn(f'value="{refused}"', block)
        self.assertNotIn("Move…", block)

    def block(self, page, appointment) -> str:
        html = page.content.decode()
        start = html.index(f'id="appt-{appointment.id}"')
        return html[start : html.index("</article>", start)]

    def panel(self, appointment) -> str:
        """The block's "More" panel, as htmx fetches it when it opens."""
        return self.client.get(f"/calendar/appointments/{appointment.id}/", **HTMX).content.decode()


class StatusTests(CalendarTestCase):
    def test_front_desk_checks_a_patient_in_with_one_tap(self):
        appointment = self.book(start=self.today_at(8), resource=self.chair)
        self.sign_in(self.front_desk)
        response = self.status(appointment, "checked_in", **HTMX)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "✓ Checked in")
        self.assertContains(response, f'id="appt-{appointment.id}"')
        self.assertContains(response, "Complete")
        appointment.refresh_from_db()
        self.assertEqual(appointment.status, "checked_in")

    def test_a_second_identical_tap_changes_nothing_and_says_so(self):
        appointment = self.book(start=self.today_at(8), resource=self.chair)
        self.sign_in(self.front_desk)
        self.status(appointment, "checked_in", **HTMX)
        appointment.refresh_from_db()
        first = appointment.checked_in_at
        updates = AuditEvent.objects.filter(action=Action.UPDATE, object_id=str(appointment.id))
        self.assertEqual(updates.count(), 1)
        again = self.status(appointment, "checked_in", **HTMX)
        self.assertEqual(again.status_code, 200)
        self.assertContains(again, "is already checked in")
        appointment.refresh_from_db()
        self.assertEqual(appointment.checked_in_at, first)
        self.assertEqual(updates.count(), 1)
        # Without htmx: back to the day with the same friendly message.
        plain = self.status(appointment, "checked_in")
        self.assertRedirects(
            plain, f"/calendar/?date={self.today.isoformat()}", fetch_redirect_response=False
        )
        self.assertContains(self.client.get(plain.url), "is already checked in")

    def test_cancelling_needs_a_reason_on_the_form(self):
        appointment = self.book(start=self.today_at(8), resource=self.chair)
        self.sign_in(self.front_desk)
        response = self.status(appointment, "cancelled", **HTMX)
        self.assertEqual(response.status_code, 422)
        self.assertContains(response, "Say why the appointment is cancelled", status_code=422)
        appointment.refresh_from_db()
        self.assertEqual(appointment.status, "booked")
        response = self.status(appointment, "cancelled", "Patient has flu", **HTMX)
        self.assertContains(response, "✕ Cancelled")
        appointment.refresh_from_db()
        self.assertEqual(
            (appointment.status, appointment.status_reason), ("cancelled", "Patient has flu")
        )

    def test_a_closed_appointment_refuses_a_new_status_with_a_message(self):
        appointment = self.book(start=self.today_at(8), resource=self.chair)
        self.sign_in(self.front_desk)
        self.status(appointment, "no_show", **HTMX)
        response = self.status(appointment, "checked_in", **HTMX)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "may become nothing: it is over")
        appointment.refresh_from_db()
        self.assertEqual(appointment.status, "no_show")

    def test_a_therapist_may_not_check_in_a_dose_but_may_close_therapy(self):
        dose = self.book(start=self.today_at(8), resource=self.chair)
        talk = self.book(
            patient=self.other_patient, kind="therapy", start=self.today_at(8), resource=self.room
        )
        self.sign_in(self.therapist)
        self.assertEqual(self.status(dose, "checked_in", **HTMX).status_code, 403)
        self.assertEqual(self.status(talk, "checked_in", **HTMX).status_code, 200)
        talk.refresh_from_db()
        self.assertEqual(talk.status, "checked_in")


class WeekViewTests(CalendarTestCase):
    def test_the_week_lists_each_day_and_filters_by_resource(self):
        self.book(resource=self.chair, start=self.at(9))
        self.book(
            patient=self.other_patient,
            kind="tms",
            resource=self.device,
            start=self.at(10, day=self.monday + timedelta(days=2)),
        )
        self.sign_in(self.front_desk)
        page = self.client.get(
            "/calendar/week/", {"date": (self.monday + timedelta(days=3)).isoformat()}
        )
        self.assertEqual(page.context["monday"], self.monday)
        days = page.context["days"]
        self.assertEqual([len(d["appointments"]) for d in days], [1, 0, 1, 0, 0, 0, 0])
        self.assertContains(page, "Chair 1")
        self.assertContains(page, "NeuroStar")
        only = self.client.get(
            "/calendar/week/", {"date": self.monday.isoformat(), "resource": str(self.device.pk)}
        )
        self.assertEqual(
            [len(d["appointments"]) for d in only.context["days"]], [0, 0, 1, 0, 0, 0, 0]
        )


class BookingFormTests(CalendarTestCase):
    def form(self, **values):
        data = {
            "patient": str(self.patient.id),
            "kind": "iv_ketamine",
            "date": self.monday.isoformat(),
            "time": "09:00",
            "minutes": "",
            "resource": str(self.chair.pk),
            "staff": "",
        }
        data.update(values)
        return data

    def test_booking_returns_to_the_day_with_a_message(self):
        self.sign_in(self.front_desk)
        response = self.client.post("/calendar/book/", self.form(staff=str(self.nurse.pk)))
        self.assertRedirects(
            response, f"/calendar/?date={self.monday.isoformat()}", fetch_redirect_response=False
        )
        appointment = Appointment.objects.get()
        self.assertEqual(
            (appointment.minutes, appointment.resource, appointment.staff),
            (90, self.chair, self.nurse),
        )
        self.assertContains(self.client.get(response.url), "Booked IV ketamine for")

    def test_a_taken_chair_is_named_on_the_resource_field_and_nothing_is_booked(self):
        self.book(patient=self.other_patient, resource=self.chair, start=self.at(9))
        self.sign_in(self.front_desk)
        response = self.client.post("/calendar/book/", self.form(time="09:30"))
        self.assertEqual(response.status_code, 409)
        self.assertIn("Chair 1 is booked then", response.context["form"].errors["resource"][0])
        self.assertEqual(Appointment.objects.count(), 1)

    def test_a_start_outside_opening_hours_is_named_on_the_time(self):
        self.sign_in(self.front_desk)
        response = self.client.post("/calendar/book/", self.form(time="17:00"))
        self.assertIn("is not open", response.context["form"].errors["time"][0])

    def test_the_form_takes_the_patient_and_shows_the_kinds_default_length(self):
        self.sign_in(self.front_desk)
        page = self.client.get(
            "/calendar/book/",
            {"patient": str(self.patient.id), "kind": "esketamine", "resource": str(self.chair.pk)},
        )
        self.assertContains(page, self.patient.full_name)
        self.assertContains(page, "the clinic's 150 minutes for Esketamine")
        self.assertNotContains(page, "Second dose today")
        # The resource choice offers only what suits the kind: no TMS device for esketamine.
        self.assertNotContains(page, f'value="{self.device.pk}"')
        self.sign_in(self.prescriber)
        self.assertContains(
            self.client.get("/calendar/book/", {"patient": str(self.patient.id)}),
            "Second dose today",
        )

    def test_the_patient_is_found_by_search(self):
        self.sign_in(self.front_desk)
        page = self.client.get(
            "/calendar/book/", {"q": self.patient.family_name, "date": self.monday.isoformat()}
        )
        self.assertContains(page, f"?patient={self.patient.id}&amp;date={self.monday.isoformat()}")
        self.assertEqual(
            self.client.get("/calendar/book/", {"patient": str(self.patient_b.id)}).status_code, 404
        )

    def test_moving_by_form(self):
        appointment = self.book(resource=self.chair, start=self.at(9))
        self.sign_in(self.front_desk)
        url = f"/calendar/appointments/{appointment.id}/move/"
        self.assertContains(self.client.get(url), "Move")
        response = self.client.post(
            url,
            {"date": self.monday.isoformat(), "time": "13:00", "resource": str(self.chair_2.pk)},
        )
        self.assertRedirects(response, f"/calendar/?date={self.monday.isoformat()}")
        appointment.refresh_from_db()
        self.assertEqual((appointment.start, appointment.resource), (self.at(13), self.chair_2))


class CourseBookingPageTests(CalendarTestCase):
    def rows(self, page):
        data = {}
        for row in page.context["rows"]:
            form = row["form"]
            for name in ("date", "time", "resource"):
                value = form[name].value()
                data[form.add_prefix(name)] = (
                    value.isoformat() if hasattr(value, "isoformat") else value
                )
        return data

    def test_all_planned_sessions_are_booked_in_one_step(self):
        course = self.start_course()
        self.sign_in(self.front_desk)
        course_page = self.client.get(f"/courses/{course.id}/")
        self.assertContains(course_page, f'href="/calendar/courses/{course.id}/book/"')
        page = self.client.get(f"/calendar/courses/{course.id}/book/")
        self.assertEqual(len(page.context["rows"]), course.sessions.count())
        response = self.client.post(page.request["PATH_INFO"], self.rows(page))
        self.assertRedirects(response, f"/courses/{course.id}/")
        self.assertFalse(course.sessions.filter(status=SessionStatus.PLANNED).exists())
        self.assertEqual(
            Appointment.objects.filter(session__course=course).count(), course.sessions.count()
        )
        after = self.client.get(f"/courses/{course.id}/")
        self.assertContains(after, "Chair 1")
        self.assertNotContains(after, "Book sessions")

    def test_a_failing_row_is_marked_and_nothing_is_booked(self):
        course = self.start_course()
        self.sign_in(self.front_desk)
        page = self.client.get(f"/calendar/courses/{course.id}/book/")
        data = self.rows(page)
        third = course.sessions.get(number=3)
        self.book(
            patient=self.other_patient,
            resource=self.chair,
            start=self.at(8, day=third.planned_date),
        )
        data.update({"s3-time": "08:00", "s3-resource": str(self.chair.pk)})
        response = self.client.post(f"/calendar/courses/{course.id}/book/", data)
        self.assertEqual(response.status_code, 409)
        failed = [row for row in response.context["rows"] if row.get("failed")]
        self.assertEqual([row["proposal"].session.number for row in failed], [3])
        self.assertIn("Chair 1 is booked then", failed[0]["form"].errors["resource"][0])
        self.assertContains(response, "Nothing was booked", status_code=409)
        self.assertEqual(
            course.sessions.filter(status=SessionStatus.PLANNED).count(), course.sessions.count()
        )
        self.assertFalse(Appointment.objects.filter(session__course=course).exists())

    def test_the_days_sessions_show_the_booked_time_and_resource(self):
        course = self.start_course()
        proposals = services.propose_course_slots(course, first_start=self.at(10, 15))
        services.book_course(self.actor(), course, proposals)
        self.sign_in(self.nurse)
        page = self.client.get("/sessions/today/", {"date": self.monday.isoformat()})
        self.assertContains(page, "10:15")
        self.assertContains(page, "Chair 1")
        self.assertNotContains(page, "Any time")

    def test_only_those_who_book_may_open_it(self):
        course = self.start_course()
        self.sign_in(self.therapist)
        self.assertEqual(self.client.get(f"/calendar/courses/{course.id}/book/").status_code, 403)
        self.assertNotContains(self.client.get(f"/courses/{course.id}/"), "Book sessions")
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(f"/calendar/courses/{course.id}/book/").status_code, 404)


class PatientCardTests(CalendarTestCase):
    def test_the_card_lists_upcoming_appointments_and_the_tag_only_renders(self):
        self.book(resource=self.chair, start=self.at(9))
        actor = actor_for(self.front_desk, self.clinic_a)
        card = panels.for_page(actor, self.patient)["appointments"]
        template = Template("{% load scheduling_tags %}{% patient_appointments_card card %}")
        with self.assertNumQueries(0):
            html = template.render(Context({"card": card}))
        self.assertIn("Upcoming appointments", html)
        self.assertIn(f"/calendar/?date={self.monday.isoformat()}", html)
        self.assertIn("09:00", html)
        self.assertIn("Chair 1", html)
        self.assertIn(f"/calendar/book/?patient={self.patient.id}", html)
        self.sign_in(self.therapist)
        self.assertContains(
            self.client.get(f"/patients/{self.patient.id}/"), "Upcoming appointments"
        )


class DemoAppointmentTests(CalendarTestCase):
    def test_the_demo_books_the_weeks_sessions_on_existing_resources_once(self):
        course = self.start_course(start=self.today)
        # Today's included, whatever the hour: the day is booked as it stood when it began.
        week = course.sessions.filter(planned_date__lte=self.today + timedelta(days=6))
        self.assertTrue(week.filter(planned_date=self.today).exists())
        added = add_appointments(self.clinic_a)
        self.assertGreaterEqual(added, week.count())
        for session in week:
            self.assertEqual(session.appointments.get().resource.clinic, self.clinic_a)
        self.assertEqual(add_appointments(self.clinic_a), 0)
        self.assertEqual(add_appointments(self.clinic_b), 0)  # no resources there
        self.assertTrue(
            all(
                a.start.astimezone(self.clinic_a.tzinfo).time() >= time(8)
                for a in Appointment.objects.all()
            )
        )

    def test_a_demo_loaded_late_has_the_whole_day_with_the_started_appointments_checked_in(self):
        self.start_course(start=self.today)
        tz = self.clinic_a.tzinfo
        before_opening = datetime.combine(self.today, time(7), tz)
        add_appointments(self.clinic_a, now=before_opening)
        day = Appointment.objects.filter(clinic=self.clinic_a, day=self.today).order_by("kind")
        # The course's session on a chair and an assessment in the room, both at the opening.
        self.assertEqual(
            [(a.kind, a.start.astimezone(tz).time(), a.status) for a in day],
            [("assessment", time(8), "booked"), ("iv_ketamine", time(8), "booked")],
        )
        # Loaded again in the evening: nothing more is booked; who has come is checked in.
        evening = datetime.combine(self.today, time(21), tz)
        self.assertEqual(add_appointments(self.clinic_a, now=evening), 0)
        for appointment in day.all():
            self.assertEqual(appointment.status, "checked_in", appointment.kind)
            self.assertEqual(appointment.checked_in_at, appointment.start)

    def test_a_demo_first_loaded_in_the_evening_still_books_the_day(self):
        self.start_course(start=self.today)
        evening = datetime.combine(self.today, time(21), self.clinic_a.tzinfo)
        add_appointments(self.clinic_a, now=evening)
        day = Appointment.objects.filter(clinic=self.clinic_a, day=self.today)
        self.assertEqual(sorted(day.values_list("kind", "status")), [
            ("assessment", "checked_in"), ("iv_ketamine", "checked_in")
        ])  # fmt: skip
