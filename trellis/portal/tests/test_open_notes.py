"""Open notes: a clinic setting, off by default, that shows the patient their own signed
progress notes. Drafts never, psychotherapy notes never, another patient's notes never."""

from datetime import datetime, time, timedelta

from trellis.audit.models import AuditEvent
from trellis.groups import services as groups
from trellis.portal.tests.base import PortalTestCase
from trellis.scheduling.kinds import ResourceKind
from trellis.scheduling.models import Appointment
from trellis.scheduling.tests.base import add_resource
from trellis.testing import actor_for
from trellis.therapy import services as therapy

PAGES = ["/portal/", "/portal/scores/", "/portal/aftercare/", "/portal/journal/", "/portal/groups/"]
SECRET = "Distinctive words from the therapist's own process note"


def turn_on(clinic) -> None:
    clinic.settings = {**clinic.settings, "portal_open_notes": 1}
    clinic.save(update_fields=["settings"])


class OpenNotesTestCase(PortalTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.therapist_actor = actor_for(cls.therapist, cls.clinic_a)
        cls.signed = cls.progress_note(
            cls.therapist_actor, cls.patient, focus="Sleep and the morning routine"
        )
        cls.signed = therapy.sign_progress_note(cls.therapist_actor, cls.signed)
        therapy.add_progress_addendum(
            cls.therapist_actor,
            cls.signed,
            reason="Plan date corrected",
            text="Next session moved to Friday",
        )
        cls.draft = cls.progress_note(
            cls.therapist_actor, cls.patient, focus="Unfinished draft about work stress", day=2
        )
        therapy.write_psychotherapy_note(cls.therapist_actor, cls.patient, SECRET)
        # Alan, at clinic B, with a signed note of his own.
        cls.prescriber_b_actor = actor_for(cls.prescriber_b, cls.clinic_b)
        cls.note_b = cls.progress_note(
            cls.prescriber_b_actor, cls.patient_b, focus="Alan's own goals for the month"
        )
        therapy.sign_progress_note(cls.prescriber_b_actor, cls.note_b)

    @classmethod
    def progress_note(cls, actor, patient, *, focus: str, day: int = 3):
        clinic = patient.clinic
        start = datetime.combine(clinic.today() - timedelta(days=day), time(10), clinic.tzinfo)
        appointment = Appointment.objects.create(
            clinic=clinic,
            patient=patient,
            kind="therapy",
            start=start,
            end=start + timedelta(minutes=50),
            day=start.date(),
            staff=actor.user,
            status="completed",
            created_by=actor.user,
        )
        return therapy.create_progress_note(
            actor,
            appointment=appointment,
            modality="cbt",
            started_at=start,
            ended_at=start + timedelta(minutes=45),
            focus=focus,
            interventions="Behavioural activation",
            response="Engaged and hopeful",
            plan="Keep a sleep diary",
            risk_level="none",
        )


class SettingTests(OpenNotesTestCase):
    def test_with_the_setting_off_the_page_is_not_there_and_not_linked(self):
        self.assertEqual(self.clinic_a.setting("portal_open_notes"), 0)
        browser, _ = self.enrol(self.patient, self.front_desk, "ada")
        self.assertEqual(browser.get("/portal/notes/").status_code, 404)
        for url in PAGES:
            self.assertNotContains(browser.get(url), "/portal/notes/")

    def test_with_the_setting_on_the_signed_note_is_shown_with_its_author_and_date(self):
        turn_on(self.clinic_a)
        browser, _ = self.enrol(self.patient, self.front_desk, "ada")
        self.assertContains(browser.get("/portal/"), 'href="/portal/notes/"')
        page = browser.get("/portal/notes/")
        self.assertContains(page, "Sleep and the morning routine")
        self.assertContains(page, "Keep a sleep diary")
        self.assertContains(page, "Therapy session: Cognitive behavioural therapy")
        self.assertContains(page, f"written by {self.therapist.get_full_name()}")
        self.assertContains(page, f"{self.signed.started_at.astimezone(self.tz):%A, %b %-d, %Y}")
        self.assertContains(page, "Next session moved to Friday")
        self.assertContains(page, "Plan date corrected")
        event = AuditEvent.objects.filter(patient=self.patient).order_by("-seq").first()
        self.assertEqual(event.detail, {"portal": "notes", "count": 1})
        self.assertEqual(event.username, "(patient portal)")

    def test_a_draft_is_never_shown_and_appears_once_signed(self):
        turn_on(self.clinic_a)
        browser, _ = self.enrol(self.patient, self.front_desk, "ada")
        self.assertNotContains(browser.get("/portal/notes/"), "Unfinished draft about work stress")
        therapy.sign_progress_note(self.therapist_actor, self.draft)
        self.assertContains(browser.get("/portal/notes/"), "Unfinished draft about work stress")


class WallTests(OpenNotesTestCase):
    def test_a_psychotherapy_note_is_on_no_portal_page_whatever_the_setting(self):
        browser, _ = self.enrol(self.patient, self.front_desk, "ada")
        for on in (False, True):
            if on:
                turn_on(self.clinic_a)
            for url in [*PAGES, "/portal/notes/"]:
                response = browser.get(url)
                status = 200 if on or "notes" not in url else 404
                self.assertNotContains(response, SECRET, status_code=status)
                self.assertNotContains(response, "process note", status_code=status)

    def test_each_patient_sees_only_their_own_notes(self):
        turn_on(self.clinic_a)
        turn_on(self.clinic_b)
        ada, _ = self.enrol(self.patient, self.front_desk, "ada")
        alan, _ = self.enrol(self.patient_b, self.prescriber_b, "alan")
        ada_page, alan_page = ada.get("/portal/notes/"), alan.get("/portal/notes/")
        self.assertContains(ada_page, "Sleep and the morning routine")
        self.assertNotContains(ada_page, "Alan's own goals")
        self.assertContains(alan_page, "Alan&#x27;s own goals for the month")
        self.assertNotContains(alan_page, "Sleep and the morning routine")
        self.assertNotContains(alan_page, SECRET)

    def test_another_clinics_setting_does_not_open_the_page(self):
        turn_on(self.clinic_b)
        ada, _ = self.enrol(self.patient, self.front_desk, "ada")
        self.assertEqual(ada.get("/portal/notes/").status_code, 404)


class GroupNoteTests(OpenNotesTestCase):
    """The signed note of a group session the patient attended: the shared part and their own
    section, never another member's."""

    def test_the_patient_reads_the_shared_part_and_their_own_section_only(self):
        admin = actor_for(self.admin, self.clinic_a)
        room = add_resource(
            self.clinic_a, "Group room", ResourceKind.ROOM, opens=time(8), closes=time(20)
        )
        program = groups.create_program(admin, name="Integration group", sessions=4, minutes=90)
        today = self.clinic_a.today()
        cohort = groups.create_cohort(
            admin,
            program,
            start_date=today,
            start_time=time(18),
            room=room,
            facilitators=[self.therapist],
        )
        before = datetime.combine(today, time(8), self.tz)
        for patient in (self.patient, self.other_patient):
            groups.enrol(actor_for(self.front_desk, self.clinic_a), cohort, patient, now=before)
        meeting = cohort.meetings.get(number=1)
        rows = groups.take_attendance(
            self.therapist_actor,
            meeting,
            {str(e.pk): "present" for e in cohort.enrolments.all()},
        )
        words = {self.patient.pk: "Ada shared a walk", self.other_patient.pk: "Grace told of X"}
        note = groups.save_note(
            self.therapist_actor,
            meeting,
            topic="Values and routines",
            interventions="Group reflection",
            sections={
                str(a.pk): {"participation": words[a.patient_id], "response": "Engaged"}
                for a in rows
            },
        )
        turn_on(self.clinic_a)
        browser, _ = self.enrol(self.patient, self.front_desk, "ada")
        self.assertNotContains(browser.get("/portal/notes/"), "Values and routines")
        groups.sign_note(self.therapist_actor, note)
        page = browser.get("/portal/notes/")
        self.assertContains(page, "Group session 1: Integration group")
        self.assertContains(page, "Values and routines")
        self.assertContains(page, "Ada shared a walk")
        self.assertNotContains(page, "Grace")
        self.assertNotContains(page, "Hopper")
