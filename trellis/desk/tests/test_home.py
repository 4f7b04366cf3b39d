"""Each role's home page: its work lists, their rows, their cost in queries and their audit."""

from datetime import datetime, time, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from trellis.accounts.permissions import Role
from trellis.audit.models import Action, AuditEvent
from trellis.desk.sections import BY_ROLE, sections_for
from trellis.measures.models import ScheduledMeasure
from trellis.patients.models import AssessmentRequest, Patient, RequestStatus
from trellis.patients.services import create_screening, sign_screening
from trellis.portal.models import PortalRequest, RequestKind
from trellis.safety.models import AlertKind, AlertSeverity, SafetyAlert
from trellis.scheduling.kinds import AppointmentKind, AppointmentStatus, ResourceKind
from trellis.scheduling.models import Appointment, AppointmentLink, LinkAnswer
from trellis.scheduling.tests.base import add_resource
from trellis.testing import AUDIT_LOCK_QUERIES, SAFE_ANSWERS, actor_for, make_patient
from trellis.treatments import services
from trellis.treatments.models import RemsForm, SafetyOverride, Session, SessionStatus
from trellis.treatments.tests.helpers import antidepressant
from trellis.treatments.tests.test_courses import CourseTestCase

EXPECTED = {
    Role.FRONT_DESK: [
        "arrivals",
        "requests",
        "cancel-requests",
        "portal-requests",
        "patient-messages",
        "unconfirmed",
        "unbooked-today",
        "prior-auth",
    ],
    Role.NURSE: ["chairs", "to-sign-ketamine", "alerts", "patient-messages", "relapse"],
    Role.TMS_TECHNICIAN: ["devices", "to-sign-tms", "alerts", "relapse"],
    Role.PRESCRIBER: [
        "screenings",
        "to-sign",
        "alerts",
        "patient-messages",
        "relapse",
        "overrides",
        "rems",
        "prior-auth",
    ],
    Role.THERAPIST: ["therapy", "questionnaires", "alerts", "patient-messages", "relapse"],
    Role.CLINIC_ADMIN: [
        "alerts-escalating",
        "unsigned-overdue",
        "rems-overdue",
        "no-shows",
        "requests",
        "prior-auth",
        "over-estimate",
    ],
}


# The whole home page, in queries: signing in and the top bar (4 to 6) and 6 per list; the
# administrator's staff count is one more. The prior authorisations' list is empty here (5:
# no rows to read); trellis/billing/tests counts it with rows. The bills over their estimate
# (administrator) are one read when no estimate is in its dates (two with estimates) and the
# audit event's four. The patient messages' list is empty here (5); trellis/portal/tests
# counts it with rows.
QUERIES = {
    Role.FRONT_DESK: 50,
    Role.NURSE: 33,
    Role.TMS_TECHNICIAN: 27,
    Role.PRESCRIBER: 50,
    Role.THERAPIST: 33,
    Role.CLINIC_ADMIN: 46,
}


class DeskTestCase(CourseTestCase):
    """Work for every list at clinic A, and the same at clinic B, which nobody at A may see."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.today = cls.clinic_a.today()
        cls.front = actor_for(cls.front_desk, cls.clinic_a)
        cls.resources = {}
        for clinic in (cls.clinic_a, cls.clinic_b):
            cls.resources[clinic.pk] = {
                kind: add_resource(clinic, f"{label} {clinic.slug}", kind)
                for kind, label in (
                    (ResourceKind.CHAIR, "Chair"),
                    (ResourceKind.TMS_DEVICE, "Device"),
                    (ResourceKind.ROOM, "Room"),
                )
            }

    def appoint(self, patient, kind, resource_kind=None, *, minute=0, day=None, **fields):
        """An appointment written straight to the book (the booking rules have their own
        tests): at 07:00 clinic-local plus ``minute`` on ``day`` (today), for 30 minutes."""
        clinic = patient.clinic
        day = day or clinic.today()
        start = datetime.combine(day, time(7), clinic.tzinfo) + timedelta(minutes=minute)
        fields.setdefault("created_by", fields.get("staff") or self.prescriber)
        return Appointment.objects.create(
            clinic=clinic,
            patient=patient,
            kind=kind,
            start=start,
            end=start + timedelta(minutes=30),
            day=day,
            resource=self.resources[clinic.pk][resource_kind] if resource_kind else None,
            **fields,
        )

    def add_work(self, n: int = 1, clinic=None, *, first: int = 0) -> None:
        """``n`` rows of every list for new patients of ``clinic`` (default: clinic A)."""
        clinic = clinic or self.clinic_a
        user = self.prescriber if clinic == self.clinic_a else self.prescriber_b
        actor = actor_for(user, clinic)
        today = clinic.today()
        long_ago = timezone.now() - timedelta(days=2)
        for i in range(first, first + n):
            tag = f"{clinic.slug.title()}{i:02d}"
            AssessmentRequest.objects.create(
                clinic=clinic, given_name="Req", family_name=f"Asker{tag}", phone="555-0100"
            )
            ketamine_patient = make_patient(actor, "Ket", f"Infused{tag}")
            tms_patient = make_patient(actor, "Tee", f"Magnet{tag}")
            for patient in (ketamine_patient, tms_patient):
                self.sign_screening_for_actor(actor, patient)
            # One unsigned screening per round: the prescriber's list.
            screened = make_patient(actor, "Scr", f"Screened{tag}")
            create_screening(actor, screened, SAFE_ANSWERS, [])
            ketamine = self.start_for(actor, ketamine_patient, "esketamine-trd", today)
            tms = self.start_for(actor, tms_patient, "tms-10hz", today)
            for course in (ketamine, tms):
                course.sessions.filter(number=1).update(planned_date=today)
            # Session 2: begun yesterday, never signed.
            begun = ketamine.sessions.get(number=2)
            begun.planned_date = today - timedelta(days=1)
            begun.status = SessionStatus.IN_PROGRESS
            begun.started_at = long_ago
            begun.save()
            RemsForm.objects.create(
                clinic=clinic,
                patient=ketamine_patient,
                session=begun,
                due_date=today - timedelta(days=1),
            )
            SafetyOverride.objects.create(
                clinic=clinic,
                patient=ketamine_patient,
                session=begun,
                rule="bp_hold",
                problem="Blood pressure 182/104 before the dose",
                reason="Repeated at 150/92 after rest",
                prescriber=user,
            )
            alert = SafetyAlert.objects.create(
                clinic=clinic,
                patient=tms_patient,
                kind=AlertKind.SUICIDE_ITEM,
                severity=AlertSeverity.HIGH,
                summary=f"PHQ-9 item 9 {tag}",
            )
            SafetyAlert.objects.filter(pk=alert.pk).update(created_at=long_ago)
            # An appointment in two days whose patient asked, by its link, to cancel.
            start = timezone.now() + timedelta(days=2, hours=i)
            appointment = Appointment.objects.create(
                clinic=clinic,
                patient=tms_patient,
                kind="tms",
                start=start,
                end=start + timedelta(minutes=40),
                created_by=user,
                day=timezone.localtime(start, clinic.tzinfo).date(),
            )
            AppointmentLink.objects.create(
                clinic=clinic,
                appointment=appointment,
                token_hash=f"{tag}".ljust(64, "0"),
                expires_at=start,
                answer=LinkAnswer.CANCEL_REQUESTED,
                answered_at=timezone.now() - timedelta(hours=3),
            )
            # The same patient asked from the portal for another time of it.
            PortalRequest.objects.create(
                clinic=clinic,
                patient=tms_patient,
                kind=RequestKind.RESCHEDULE,
                appointment=appointment,
                preferred=f"Mornings {tag}",
            )
            ScheduledMeasure.objects.filter(patient__in=[ketamine_patient, tms_patient]).update(
                opens_on=today - timedelta(days=1), due_on=today, closes_on=today
            )
            # The appointment book: the esketamine session booked in a chair (the TMS session
            # left unbooked), a TMS appointment with no session, therapy with the therapist, a
            # follow-up missed today, and a TMS appointment tomorrow not yet confirmed.
            minute = 40 * i
            dose = ketamine.sessions.get(number=1)
            dose.status = SessionStatus.BOOKED
            dose.save(update_fields=["status"])
            K = AppointmentKind
            self.appoint(
                ketamine_patient, K.ESKETAMINE, ResourceKind.CHAIR, minute=minute, session=dose
            )
            self.appoint(tms_patient, K.TMS, ResourceKind.TMS_DEVICE, minute=minute)
            therapist = self.therapist if clinic == self.clinic_a else user
            self.appoint(screened, K.THERAPY, ResourceKind.ROOM, minute=minute, staff=therapist)
            self.appoint(
                ketamine_patient,
                K.FOLLOW_UP,
                minute=minute + 30,
                status=AppointmentStatus.NO_SHOW,
                status_reason=f"No answer on the phone {tag}",
            )
            tms_patient.phone = "+16175550134"
            tms_patient.save(update_fields=["phone"])
            self.appoint(
                tms_patient,
                K.TMS,
                ResourceKind.TMS_DEVICE,
                minute=minute,
                day=today + timedelta(days=1),
            )

    def sign_screening_for_actor(self, actor, patient):
        screening = create_screening(actor, patient, SAFE_ANSWERS, [])
        return sign_screening(actor, screening, acknowledge_cautions=True)

    def start_for(self, actor, patient, protocol, start_date):
        return services.start_course(
            actor, patient, protocol, start_date, with_antidepressant=antidepressant(protocol)
        )

    def home(self, user, **params):
        self.sign_in(user)
        return self.client.get("/", params)

    def keys(self, page) -> list[str]:
        return [item["section"].key for item in page.context["lists"]]

    def rows(self, page, key) -> list:
        item = next(i for i in page.context["lists"] if i["section"].key == key)
        return list(item["page"].object_list)


class SectionsPerRoleTests(DeskTestCase):
    def test_each_role_sees_its_own_sections_and_no_others(self):
        for role, user in self.staff_a.items():
            with self.subTest(role=role):
                page = self.home(user)
                self.assertEqual(page.status_code, 200)
                self.assertEqual(self.keys(page), EXPECTED[role])

    def test_several_roles_see_the_union_each_section_once_first_roles_first(self):
        keys = [s.key for s in sections_for([Role.FRONT_DESK, Role.CLINIC_ADMIN])]
        self.assertEqual(
            keys,
            [
                *EXPECTED[Role.FRONT_DESK],
                "alerts-escalating",
                "unsigned-overdue",
                "rems-overdue",
                "no-shows",
                "over-estimate",
            ],
        )
        keys = [s.key for s in sections_for([Role.NURSE, Role.THERAPIST])]
        self.assertEqual(
            keys,
            [
                "chairs",
                "to-sign-ketamine",
                "alerts",
                "patient-messages",
                "relapse",
                "therapy",
                "questionnaires",
            ],
        )
        self.assertEqual(sections_for([]), [])

    def test_every_role_has_sections_and_every_section_key_is_one_list(self):
        self.assertEqual(set(BY_ROLE), set(Role.values))
        by_key = {}
        for sections in BY_ROLE.values():
            for section in sections:
                self.assertIs(by_key.setdefault(section.key, section), section)

    def test_empty_lists_say_so(self):
        page = self.home(self.front_desk)
        self.assertContains(page, "No assessment requests waiting.")
        self.assertContains(page, "No appointments today.")
        self.assertContains(page, "Every appointment tomorrow is confirmed.")
        self.assertContains(page, "Every session planned today has an appointment.")
        self.assertContains(page, "No patient has asked to cancel or reschedule.")
        page = self.home(self.therapist)
        self.assertContains(page, "You have no therapy, group or coaching appointments today.")
        page = self.home(self.prescriber)
        self.assertContains(page, "No open safety alerts.")
        self.assertContains(page, "No REMS form is due in the next 7 days.")


class RowsTests(DeskTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls().add_work(1)
        cls().add_work(1, clinic=cls.clinic_b)

    def test_front_desk_sees_requests_and_todays_arrivals_without_clinical_detail(self):
        page = self.home(self.front_desk)
        self.assertContains(page, "AskerAlpha00")
        arrivals = self.rows(page, "arrivals")
        self.assertEqual(
            [(a.patient.family_name, a.kind, a.status) for a in arrivals],
            [
                ("InfusedAlpha00", "esketamine", "booked"),
                ("MagnetAlpha00", "tms", "booked"),
                ("ScreenedAlpha00", "therapy", "booked"),
                ("InfusedAlpha00", "follow_up", "no_show"),
            ],
        )
        self.assertContains(page, "Esketamine (Spravato)")
        self.assertContains(page, "No-show")
        self.assertContains(page, "Chair alpha")
        self.assertContains(page, ">Check in<", count=3)  # not the no-show
        # The TMS session planned today has no appointment: front desk books it.
        self.assertEqual(
            [s.patient.family_name for s in self.rows(page, "unbooked-today")], ["MagnetAlpha00"]
        )
        tomorrow = self.rows(page, "unconfirmed")
        self.assertEqual([a.patient.family_name for a in tomorrow], ["MagnetAlpha00"])
        self.assertContains(page, 'href="tel:+16175550134"')
        self.assertContains(page, "(617) 555-0134")
        # No link into a session's documentation (the day's page, /sessions/today/, is fine).
        self.assertNotRegex(page.content.decode(), r'href="/sessions/[0-9a-f]{8}-')
        self.assertNotContains(page, "PHQ-9 item 9")  # nor alerts
        self.assertNotContains(page, "Beta")

    def test_front_desk_sees_who_asked_to_cancel_with_their_phone_and_the_day(self):
        (link,) = AppointmentLink.objects.filter(clinic=self.clinic_a)
        Patient.objects.filter(pk=link.appointment.patient_id).update(phone="+16175550134")
        page = self.home(self.front_desk)
        self.assertEqual(self.rows(page, "cancel-requests"), [link])
        appointment = link.appointment
        local = timezone.localtime(appointment.start, self.clinic_a.tzinfo)
        self.assertContains(page, f"{local:%a %b %-d, %-I:%M} {local:%p}")
        self.assertContains(page, "MagnetAlpha00, Tee")
        self.assertContains(page, "(617) 555-0134")
        self.assertContains(page, "asked 3")
        self.assertContains(page, f'href="/calendar/?date={appointment.day:%Y-%m-%d}"')
        # Once front desk cancels or moves it past, it leaves the list.
        Appointment.objects.filter(pk=appointment.pk).update(status="cancelled")
        page = self.home(self.front_desk)
        self.assertEqual(self.rows(page, "cancel-requests"), [])

    def test_nurse_and_tms_technician_see_their_own_modality(self):
        nurse = self.home(self.nurse)
        self.assertEqual(
            [a.patient.family_name for a in self.rows(nurse, "chairs")], ["InfusedAlpha00"]
        )
        dose = self.rows(nurse, "chairs")[0]
        self.assertContains(nurse, f'href="/sessions/{dose.session_id}/"')
        to_sign = self.rows(nurse, "to-sign-ketamine")
        self.assertEqual(
            [(s.patient.family_name, s.number) for s in to_sign], [("InfusedAlpha00", 2)]
        )
        self.assertContains(nurse, f'href="/sessions/{to_sign[0].id}/"')
        self.assertContains(nurse, "PHQ-9 item 9 Alpha00")
        tms = self.home(self.tms)
        self.assertEqual(
            [a.patient.family_name for a in self.rows(tms, "devices")], ["MagnetAlpha00"]
        )
        self.assertContains(tms, "Device alpha")
        self.assertEqual(self.rows(tms, "to-sign-tms"), [])
        self.assertContains(tms, "Every TMS session begun has been signed.")

    def test_prescriber_sees_screenings_sessions_alerts_overrides_and_rems(self):
        page = self.home(self.prescriber)
        self.assertEqual(
            [s.patient.family_name for s in self.rows(page, "screenings")], ["ScreenedAlpha00"]
        )
        self.assertEqual(len(self.rows(page, "to-sign")), 1)
        self.assertEqual(len(self.rows(page, "alerts")), 1)
        self.assertContains(page, "Blood pressure 182/104 before the dose")
        rems = self.rows(page, "rems")
        self.assertEqual(len(rems), 1)
        self.assertContains(page, f'href="/rems/{rems[0].id}/"')
        self.assertContains(page, "Overdue")

    def test_therapist_sees_their_therapy_questionnaires_due_and_alerts(self):
        page = self.home(self.therapist)
        self.assertEqual(
            [a.patient.family_name for a in self.rows(page, "therapy")], ["ScreenedAlpha00"]
        )
        self.assertContains(page, ">Check in<", count=1)  # their own kind of appointment
        due = self.rows(page, "questionnaires")
        self.assertTrue(due)
        self.assertIn("InfusedAlpha00", {row.patient.family_name for row in due})
        self.assertEqual(len(self.rows(page, "alerts")), 1)
        self.assertNotContains(page, "Beta")

    def test_administrator_sees_overdue_work_and_the_clinic_links(self):
        page = self.home(self.admin)
        self.assertEqual(len(self.rows(page, "alerts-escalating")), 1)
        self.assertEqual(len(self.rows(page, "unsigned-overdue")), 1)
        self.assertEqual(len(self.rows(page, "rems-overdue")), 1)
        self.assertEqual(
            [a.status_reason for a in self.rows(page, "no-shows")],
            ["No answer on the phone Alpha00"],
        )
        self.assertEqual(page.context["staff_count"], 6)
        self.assertContains(page, 'href="/accounts/clinic/settings/"')
        # The administrator reads no documentation.
        self.assertNotRegex(page.content.decode(), r'href="/sessions/[0-9a-f]{8}-')
        self.assertNotContains(page, "/rems/")

    def test_a_fresh_alert_is_not_escalating_yet(self):
        SafetyAlert.objects.update(created_at=timezone.now())
        page = self.home(self.admin)
        self.assertEqual(self.rows(page, "alerts-escalating"), [])
        self.assertContains(page, "Every alert was acknowledged within")

    def test_no_row_of_another_clinic_on_any_home_page(self):
        for role, user in self.staff_a.items():
            with self.subTest(role=role):
                page = self.home(user)
                for item in page.context["lists"]:
                    for row in item["page"].object_list:
                        self.assertEqual(row.clinic_id, self.clinic_a.pk)
                self.assertNotContains(page, "Beta")

    def test_each_list_read_is_audited_as_one_query(self):
        for role, user in self.staff_a.items():
            with self.subTest(role=role):
                before = AuditEvent.objects.count()
                self.home(user)
                events = AuditEvent.objects.order_by("seq")[before:]
                queries = [e for e in events if e.action == Action.QUERY]
                self.assertEqual(len(queries), len(EXPECTED[role]))
                for event in queries:
                    self.assertEqual(event.user, user)
                    self.assertEqual(event.clinic, self.clinic_a)
                    self.assertIn("list", event.detail)
                    self.assertIn("results", event.detail)


class QueryCountTests(DeskTestCase):
    """Each list is two queries (its count and one page of rows) and one audit event, whatever
    the number of rows; the page as a whole costs the same with one row as with many."""

    def counts(self) -> dict:
        found = {}
        for role, user in self.staff_a.items():
            self.sign_in(user)
            self.client.get("/")  # the first request after signing in also stores the session
            with CaptureQueriesContext(connection) as queries:
                page = self.client.get("/")
            self.assertEqual(page.status_code, 200)
            found[role] = len(queries)
        return found

    def test_the_home_pages_cost_does_not_grow_with_the_rows(self):
        self.add_work(1)
        one = self.counts()
        self.add_work(11, first=1)  # past a page of ten
        many = self.counts()
        self.assertEqual(one, many)
        for role, total in QUERIES.items():
            # Each list: its count, its rows, and its audit event (a savepoint, the chain's
            # tail, the insert, the release, and the chain's lock on PostgreSQL).
            self.assertEqual(one[role], total + AUDIT_LOCK_QUERIES * len(EXPECTED[role]), role)
        for role, user in self.staff_a.items():
            with self.subTest(role=role):
                self.sign_in(user)
                self.client.get("/")
                with self.assertNumQueries(one[role]):
                    self.client.get("/")


class PagingTests(DeskTestCase):
    def test_a_list_longer_than_ten_pages_on_its_own(self):
        for i in range(12):
            AssessmentRequest.objects.create(
                clinic=self.clinic_a,
                given_name="Req",
                family_name=f"Asker{i:02d}",
                phone="555-0100",
            )
        first = self.home(self.front_desk)
        self.assertEqual(len(self.rows(first, "requests")), 10)
        self.assertContains(first, "Page 1 of 2")
        self.assertContains(first, "?requests-page=2")
        second = self.home(self.front_desk, **{"requests-page": 2})
        self.assertEqual(
            [r.family_name for r in self.rows(second, "requests")], ["Asker10", "Asker11"]
        )
        self.sign_in(self.front_desk)
        part = self.client.get(
            "/", {"section": "requests", "requests-page": 2}, headers={"HX-Request": "true"}
        )
        self.assertContains(part, "Asker11")
        self.assertNotContains(part, "<html")
        self.assertNotContains(part, "Today's sessions")
        unknown = self.client.get("/", {"section": "alerts"}, headers={"HX-Request": "true"})
        self.assertEqual(unknown.status_code, 404)  # not a list of the front desk

    def test_handled_requests_leave_the_list(self):
        AssessmentRequest.objects.create(
            clinic=self.clinic_a,
            given_name="Req",
            family_name="Handled",
            phone="555-0100",
            status=RequestStatus.CONTACTED,
        )
        page = self.home(self.front_desk)
        self.assertNotContains(page, "Handled")


class FrontDeskTodayPageTests(DeskTestCase):
    def test_front_desk_reads_the_days_list_without_a_link_to_documentation(self):
        self.add_work(1)
        self.sign_in(self.front_desk)
        page = self.client.get("/sessions/today/")
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "InfusedAlpha00")
        self.assertContains(page, "MagnetAlpha00")
        today = Session.objects.filter(planned_date=self.today, clinic=self.clinic_a)
        self.assertEqual(today.count(), 2)
        for session in today:
            self.assertNotContains(page, f'href="/sessions/{session.id}/"')
        self.sign_in(self.nurse)
        page = self.client.get("/sessions/today/")
        for session in today:
            self.assertContains(page, f'href="/sessions/{session.id}/"')

    def test_the_administrator_still_may_not(self):
        self.sign_in(self.admin)
        self.assertEqual(self.client.get("/sessions/today/").status_code, 403)


class AppointmentListsTests(DeskTestCase):
    def test_what_each_appointment_list_leaves_out(self):
        K, S, R = AppointmentKind, AppointmentStatus, ResourceKind
        self.appoint(self.patient, K.IV_KETAMINE, R.CHAIR, status=S.CANCELLED, status_reason="Ill")
        theirs = self.appoint(self.other_patient, K.THERAPY, R.ROOM, staff=self.nurse)
        confirmed = self.appoint(
            self.patient, K.TMS, R.TMS_DEVICE, day=self.today + timedelta(days=1)
        )
        confirmed.status = S.CONFIRMED
        confirmed.save(update_fields=["status"])
        last_week = self.today - timedelta(days=self.today.weekday() + 1)
        self.appoint(self.other_patient, K.FOLLOW_UP, day=last_week, status=S.NO_SHOW)
        front = self.home(self.front_desk)
        self.assertEqual(self.rows(front, "arrivals"), [theirs])  # not the cancelled dose
        self.assertEqual(self.rows(front, "unconfirmed"), [])  # tomorrow's is confirmed
        self.assertEqual(self.rows(self.home(self.therapist), "therapy"), [])  # not theirs
        self.assertEqual(self.rows(self.home(self.nurse), "chairs"), [])
        self.assertEqual(self.rows(self.home(self.admin), "no-shows"), [])  # before Monday
