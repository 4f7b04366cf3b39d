"""No note is lost: the chair-side note is kept as a draft while it is typed, and an open session
in progress keeps its nurse signed in through the monitoring."""

import time
from datetime import timedelta

from django.utils import timezone

from trellis.accounts.middleware import SESSION_LAST_SEEN
from trellis.audit.models import Action, AuditEvent
from trellis.patients import services as patient_services
from trellis.patients.tests.test_api import SAFE_ANSWERS, TRD_TRIALS
from trellis.testing import TrellisTestCase, actor_for
from trellis.treatments import drafts, services, sessions
from trellis.treatments.models import NoteDraft, Session
from trellis.treatments.tests.helpers import SERTRALINE
from trellis.treatments.tests.test_sessions import ESKETAMINE_NOTE

BEGUN_AGO = timedelta(minutes=30)


class DraftTestCase(TrellisTestCase):
    def setUp(self):
        prescriber = actor_for(self.prescriber, self.clinic_a)
        screening = patient_services.create_screening(
            prescriber, self.patient, SAFE_ANSWERS, TRD_TRIALS
        )
        patient_services.sign_screening(prescriber, screening)
        # The session is begun half an hour ago: its day is the clinic's day at that moment
        # (just after the clinic's midnight, that is still yesterday).
        today = timezone.localdate(timezone.now() - BEGUN_AGO, timezone=self.clinic_a.tzinfo)
        course = services.start_course(
            prescriber, self.patient, "esketamine-trd", today, with_antidepressant=SERTRALINE
        )
        self.session = course.sessions.order_by("number").first()
        # A session begins on its planned day: put the first on today whatever weekday it is.
        Session.objects.filter(pk=self.session.pk).update(planned_date=today)
        self.session.planned_date = today
        self.url = f"/sessions/{self.session.id}/"

    def begin(self, ago: timedelta = BEGUN_AGO) -> None:
        sessions.begin_session(
            actor_for(self.nurse, self.clinic_a), self.session, now=timezone.now() - ago
        )
        self.session.refresh_from_db()

    def draft(self, text: str, **headers):
        return self.client.post(f"{self.url}note-draft/", {"note": text}, **headers)

    def sign(self) -> None:
        Session.objects.filter(pk=self.session.pk).update(
            signed_at=timezone.now(), signed_by=self.prescriber, status="signed"
        )


class NoteDraftTests(DraftTestCase):
    def test_the_note_is_kept_as_a_draft_and_is_in_the_textarea_when_the_page_comes_back(self):
        self.begin()
        self.sign_in(self.nurse)
        response = self.draft(
            "Calm, talkative; dissociation easing at 40 min.", HTTP_HX_REQUEST="true"
        )
        self.assertEqual(response.status_code, 200)
        self.assertRegex(response.content.decode(), r"^Draft saved \d\d:\d\d\.")

        page = self.client.get(self.url)
        self.assertContains(page, "Calm, talkative; dissociation easing at 40 min.</textarea>")
        self.assertContains(page, "Draft saved ")
        self.assertContains(page, f'hx-post="{self.url}note-draft/"')

    def test_the_draft_is_audited_as_an_update(self):
        self.begin()
        self.sign_in(self.nurse)
        self.draft("First words")
        draft = NoteDraft.objects.get(session=self.session, author=self.nurse)
        event = AuditEvent.objects.filter(object_id=str(draft.pk)).get()
        self.assertEqual(event.action, Action.UPDATE)
        self.assertEqual(event.patient, self.patient)
        self.assertEqual(event.user, self.nurse)

    def test_typing_on_replaces_the_draft(self):
        self.begin()
        self.sign_in(self.nurse)
        self.draft("First")
        self.draft("First words, then more")
        self.assertEqual(
            list(NoteDraft.objects.values_list("text", flat=True)), ["First words, then more"]
        )

    def test_each_author_keeps_their_own_draft(self):
        self.begin()
        self.sign_in(self.nurse)
        self.draft("Words of the nurse")
        self.sign_in(self.prescriber)
        self.draft("Words of the prescriber")
        page = self.client.get(self.url)
        self.assertContains(page, "Words of the prescriber</textarea>")
        self.assertNotContains(page, "Words of the nurse")
        self.assertEqual(NoteDraft.objects.count(), 2)

    def test_saving_the_note_puts_the_draft_in_the_record_and_drops_it(self):
        self.begin()
        self.sign_in(self.nurse)
        self.draft("Tolerated well")
        response = self.client.post(
            f"{self.url}save/", {**ESKETAMINE_NOTE, "note": "Tolerated well"}
        )
        self.assertRedirects(response, self.url)
        self.assertFalse(NoteDraft.objects.exists())
        self.session.esketamine.refresh_from_db()
        self.assertEqual(self.session.esketamine.note, "Tolerated well")
        self.assertContains(self.client.get(self.url), "Kept as a draft while you type.")

    def test_a_draft_that_arrives_just_after_the_save_is_not_offered_as_unsaved(self):
        self.begin()
        self.sign_in(self.nurse)
        self.client.post(f"{self.url}save/", {**ESKETAMINE_NOTE, "note": "Tolerated well"})
        self.draft("Tolerated well")  # leaving the field as "Save note" was pressed
        page = self.client.get(self.url)
        self.assertContains(page, "Kept as a draft while you type.")
        self.assertNotContains(page, "Draft saved")

    def test_a_note_refused_on_save_still_saves_itself_as_a_draft(self):
        self.begin()
        self.sign_in(self.nurse)
        page = self.client.post(
            f"{self.url}save/", {**ESKETAMINE_NOTE, "dose_mg": "85", "note": "Kept"}
        )
        self.assertEqual(page.status_code, 422)
        self.assertContains(page, f'hx-post="{self.url}note-draft/"', status_code=422)
        self.assertContains(page, "Kept</textarea>", status_code=422)
        # The status line the draft answers into is there, as on the page before the save.
        self.assertContains(
            page,
            '<p class="help" id="id_note_help">Kept as a draft while you type.</p>',
            status_code=422,
        )

    def test_a_signed_session_takes_no_draft(self):
        self.begin()
        self.sign()
        self.sign_in(self.nurse)
        response = self.draft("Too late")
        self.assertContains(response, "signed and cannot change", status_code=409)
        self.assertFalse(NoteDraft.objects.exists())

    def test_a_draft_kept_before_signing_is_not_offered_on_the_signed_page(self):
        self.begin()
        self.sign_in(self.nurse)
        self.draft("Never saved")
        self.sign()
        page = self.client.get(self.url)
        self.assertNotContains(page, "Never saved")
        self.assertNotContains(page, "note-draft/")

    def test_a_session_not_yet_begun_takes_no_draft(self):
        self.sign_in(self.nurse)
        self.assertContains(self.draft("Early"), "when the session begins", status_code=409)
        self.assertFalse(NoteDraft.objects.exists())

    def test_another_clinics_staff_get_404(self):
        self.begin()
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.draft("Not mine").status_code, 404)
        self.assertFalse(NoteDraft.objects.exists())

    def test_a_role_that_does_not_document_sessions_is_refused(self):
        self.begin()
        self.sign_in(self.front_desk)
        self.assertEqual(self.draft("Not my note").status_code, 403)
        self.assertFalse(NoteDraft.objects.exists())

    def test_an_overlong_draft_is_refused_naming_the_rule(self):
        self.begin()
        self.sign_in(self.nurse)
        response = self.draft("x" * (drafts.MAX_DRAFT_CHARACTERS + 1))
        self.assertContains(response, "at most 20,000 characters", status_code=422)

    def test_only_post_saves_a_draft(self):
        self.begin()
        self.sign_in(self.nurse)
        self.assertEqual(self.client.get(f"{self.url}note-draft/").status_code, 405)


class KeepSignedInTests(DraftTestCase):
    def idle_for(self, seconds: float) -> None:
        session = self.client.session
        session[SESSION_LAST_SEEN] = time.time() - seconds
        session.save()

    def last_seen_ago(self) -> float:
        return time.time() - self.client.session[SESSION_LAST_SEEN]

    def ping(self):
        return self.client.post(f"{self.url}keepalive/")

    def test_an_open_session_in_progress_keeps_the_nurse_signed_in_through_monitoring(self):
        self.begin()
        self.sign_in(self.nurse)
        self.client.get(self.url)
        # Two and a half hours of monitoring with no keystroke: a ping every ten minutes.
        for _ in range(15):
            self.idle_for(10 * 60)
            self.assertEqual(self.ping().status_code, 204)
            self.assertLess(self.last_seen_ago(), 5)
        self.assertEqual(self.client.get(self.url).status_code, 200)

    def test_the_page_of_a_session_in_progress_asks_the_browser_to_keep_it_alive(self):
        self.begin()
        self.sign_in(self.nurse)
        self.assertContains(
            self.client.get(self.url), f'data-session-keepalive="{self.url}keepalive/"'
        )

    def test_a_session_not_in_progress_does_not_keep_anyone_signed_in(self):
        self.sign_in(self.nurse)
        self.client.get(self.url)
        self.assertNotContains(self.client.get(self.url), "data-session-keepalive")
        self.idle_for(10 * 60)
        self.assertEqual(self.ping().status_code, 409)
        # The refused ping did not count as activity: idle sign-out still comes.
        self.assertGreater(self.last_seen_ago(), 10 * 60 - 5)
        self.idle_for(16 * 60)
        response = self.client.get(self.url)
        self.assertRedirects(
            response, f"/accounts/login/?next={self.url}", fetch_redirect_response=False
        )

    def test_a_signed_session_does_not_keep_anyone_signed_in(self):
        self.begin()
        self.sign()
        self.sign_in(self.nurse)
        self.client.get(self.url)
        self.idle_for(10 * 60)
        self.assertEqual(self.ping().status_code, 409)
        self.assertGreater(self.last_seen_ago(), 10 * 60 - 5)

    def test_a_session_left_open_past_a_visits_length_stops_keeping_it(self):
        # Begun today, then its start put back past a visit's length (begun that long ago, it
        # would fall on another day at some hours, and a session begins only on its day).
        self.begin()
        Session.objects.filter(pk=self.session.pk).update(
            started_at=timezone.now() - drafts.KEEP_SIGNED_IN_FOR - timedelta(minutes=1)
        )
        self.sign_in(self.nurse)
        self.assertEqual(self.ping().status_code, 409)

    def test_a_role_that_does_not_document_sessions_is_not_kept_signed_in(self):
        self.begin()
        self.sign_in(self.front_desk)
        self.assertEqual(self.ping().status_code, 403)

    def test_another_clinics_staff_get_404(self):
        self.begin()
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.ping().status_code, 404)

    def test_a_ping_after_the_idle_time_is_too_late(self):
        self.begin()
        self.sign_in(self.nurse)
        self.client.get(self.url)
        self.idle_for(16 * 60)
        response = self.ping()
        self.assertEqual(response.status_code, 302)
        self.assertNotIn("_auth_user_id", self.client.session)
