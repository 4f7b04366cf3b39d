"""Recording PHQ-9 and GAD-7 from staff: every answer stored, bad answers named by item,
the keyboard-friendly form on the patient's page, roles and clinics."""

from datetime import UTC, datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from trellis.audit.models import Action, AuditEvent
from trellis.lib.errors import InputError
from trellis.measures import services
from trellis.measures.models import EnteredVia, Measure, ScheduledMeasure
from trellis.measures.tests.helpers import (
    GAD7_MILD,
    PHQ9_CLEAN,
    PHQ9_ITEM9,
    MeasuresTestCase,
    answers_totalling,
    form_data,
)
from trellis.safety.models import SafetyAlert
from trellis.testing import actor_for


class RecordMeasureTests(MeasuresTestCase):
    def test_it_stores_every_answer_the_total_the_band_and_the_difficulty(self):
        measure = services.record_measure(
            self.nurse_actor, self.patient, "phq9", PHQ9_CLEAN, difficulty=2
        )
        measure.refresh_from_db()
        self.assertEqual(measure.answers, PHQ9_CLEAN)
        self.assertEqual((measure.total, measure.severity), (11, "moderate"))
        self.assertEqual((measure.difficulty, measure.suicide_item), (2, 0))
        self.assertEqual((measure.clinic, measure.recorded_by), (self.clinic_a, self.nurse))
        self.assertEqual(measure.entered_via, EnteredVia.STAFF)
        self.assertEqual(measure.difficulty_text(), "Very difficult")
        self.assertFalse(SafetyAlert.objects.exists())

    def test_gad7_has_no_item_nine_and_no_difficulty(self):
        measure = services.record_measure(self.nurse_actor, self.patient, "gad7", GAD7_MILD)
        self.assertEqual((measure.total, measure.severity, measure.suicide_item), (6, "mild", None))
        with self.assertRaises(InputError) as error:
            services.record_measure(self.nurse_actor, self.patient, "gad7", GAD7_MILD, difficulty=1)
        self.assertEqual(error.exception.field, "difficulty")

    def test_bands_are_stored_at_every_edge(self):
        cases = [
            ("phq9", 9, 4, "minimal"),
            ("phq9", 9, 5, "mild"),
            ("phq9", 9, 14, "moderate"),
            ("phq9", 9, 15, "moderately_severe"),
            ("phq9", 9, 20, "severe"),
            ("gad7", 7, 9, "mild"),
            ("gad7", 7, 10, "moderate"),
            ("gad7", 7, 15, "severe"),
        ]
        for code, count, total, band in cases:
            with self.subTest(code=code, total=total):
                measure = services.record_measure(
                    self.nurse_actor, self.patient, code, answers_totalling(count, total)
                )
                self.assertEqual((measure.total, measure.severity), (total, band))

    def test_incomplete_and_out_of_range_answers_are_refused_by_item_and_nothing_is_written(self):
        cases = [
            ("phq9", PHQ9_CLEAN[:8], "answers", "needs 9 answers"),
            ("phq9", [*PHQ9_CLEAN[:3], 4, *PHQ9_CLEAN[4:]], "answers[3]", "item 4 (tired"),
            ("phq9", [*PHQ9_CLEAN[:8], -1], "answers[8]", "item 9 (thoughts of death"),
            ("phq9", [*PHQ9_CLEAN[:2], None, *PHQ9_CLEAN[3:]], "answers[2]", "item 3 (sleep)"),
            ("gad7", [1, 1, 1, 1, 1, 1, True], "answers[6]", "item 7 (afraid)"),
            ("bdi", PHQ9_CLEAN, "instrument", "unknown instrument"),
        ]
        events = AuditEvent.objects.count()
        for code, answers, field, words in cases:
            with self.subTest(field=field):
                with self.assertRaises(InputError) as error:
                    services.record_measure(self.nurse_actor, self.patient, code, answers)
                self.assertEqual(error.exception.field, field)
                self.assertIn(words, error.exception.message)
        self.assertFalse(Measure.objects.exists())
        self.assertEqual(AuditEvent.objects.count(), events)

    def test_a_future_time_and_another_patients_course_are_refused(self):
        course = self.start_course(patient=self.other_patient)
        with self.assertRaises(InputError) as error:
            services.record_measure(
                self.nurse_actor,
                self.patient,
                "phq9",
                PHQ9_CLEAN,
                observed_at=timezone.now() + timedelta(hours=1),
            )
        self.assertEqual(error.exception.field, "observed_at")
        with self.assertRaises(InputError) as error:
            services.record_measure(
                self.nurse_actor, self.patient, "phq9", PHQ9_CLEAN, course=course
            )
        self.assertEqual(error.exception.field, "course")
        self.assertFalse(Measure.objects.filter(patient=self.patient).exists())

    def test_a_time_before_the_patient_was_born_is_refused(self):
        for observed_at in (
            datetime(1, 1, 1, tzinfo=UTC),  # would overflow the clinic's local time
            datetime(1, 1, 1),
            datetime(1980, 5, 16, 23, 59),  # Ada was born on May 17, 1980
        ):
            with self.subTest(observed_at=observed_at):
                with self.assertRaises(InputError) as error:
                    services.record_measure(
                        self.nurse_actor, self.patient, "phq9", PHQ9_CLEAN, observed_at=observed_at
                    )
                self.assertEqual(error.exception.field, "observed_at")
                self.assertIn("before the patient was born", error.exception.message)
        self.assertFalse(Measure.objects.exists())
        services.record_measure(
            self.nurse_actor,
            self.patient,
            "phq9",
            PHQ9_CLEAN,
            observed_at=datetime(1980, 5, 17, 0, 0),
        )

    def test_a_scheduled_questionnaire_of_another_patient_or_course_is_not_filled(self):
        course = self.start_course()
        other_course = self.start_course(patient=self.other_patient)
        others = ScheduledMeasure.objects.get(
            course=other_course, key="baseline", instrument="phq9"
        )
        services.record_measure(
            self.nurse_actor, self.patient, "phq9", PHQ9_CLEAN, scheduled=others
        )
        others.refresh_from_db()
        self.assertIsNone(others.measure)
        # Another course of the same patient: its questionnaire is left alone too.
        stopped = self.start_course(protocol="esketamine-trd")
        theirs = ScheduledMeasure.objects.get(course=stopped, key="baseline", instrument="phq9")
        measure = services.record_measure(
            self.nurse_actor, self.patient, "phq9", PHQ9_CLEAN, course=course, scheduled=theirs
        )
        theirs.refresh_from_db()
        self.assertIsNone(theirs.measure)
        self.assertEqual(measure.course, course)

    def test_a_time_without_a_zone_is_the_clinics_local_time(self):
        measure = services.record_measure(
            self.nurse_actor,
            self.patient,
            "phq9",
            PHQ9_CLEAN,
            observed_at=datetime(2026, 1, 15, 9, 30),
        )
        self.assertEqual(measure.observed_at, datetime(2026, 1, 15, 14, 30, tzinfo=UTC))

    def test_recording_is_audited_as_a_create_of_the_measure(self):
        measure = services.record_measure(self.nurse_actor, self.patient, "phq9", PHQ9_CLEAN)
        event = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual(
            (event.action, event.object_type, event.object_id, event.patient, event.user),
            (Action.CREATE, "measures.measure", str(measure.pk), self.patient, self.nurse),
        )

    def test_roles_without_the_right_and_other_clinics_cannot_record(self):
        for user in (self.front_desk, self.admin):
            with self.subTest(user=user.username), self.assertRaises(PermissionDenied):
                services.record_measure(
                    actor_for(user, self.clinic_a), self.patient, "phq9", PHQ9_CLEAN
                )
        self.assertFalse(Measure.objects.exists())

    def test_an_item_nine_answer_raises_an_alert_in_the_same_transaction(self):
        measure = services.record_measure(self.nurse_actor, self.patient, "phq9", PHQ9_ITEM9)
        alert = SafetyAlert.objects.get()
        self.assertEqual(
            (alert.kind, alert.severity, alert.status), ("suicide_item", "elevated", "open")
        )
        self.assertEqual(
            (alert.source_type, alert.source_id), ("measures.measure", str(measure.pk))
        )
        self.assertEqual(
            (alert.patient, alert.clinic, alert.raised_by),
            (self.patient, self.clinic_a, self.nurse),
        )
        self.assertIn("“Several days”", alert.summary)

    def test_the_alert_severity_rises_with_the_answer(self):
        for item9, severity in ((1, "elevated"), (2, "high"), (3, "urgent")):
            with self.subTest(item9=item9):
                answers = [*PHQ9_CLEAN[:8], item9]
                measure = services.record_measure(self.nurse_actor, self.patient, "phq9", answers)
                alert = SafetyAlert.objects.get(source_id=str(measure.pk))
                self.assertEqual(alert.severity, severity)


class StaffFormTests(MeasuresTestCase):
    def test_the_form_is_a_radio_group_per_item_with_the_printed_words(self):
        self.sign_in(self.nurse)
        response = self.client.get(f"/patients/{self.patient.id}/measures/phq9/new/")
        self.assertEqual(response.status_code, 200)
        for number in range(1, 10):
            self.assertContains(response, f'name="item_{number}"', count=4)
        self.assertContains(response, "Thoughts that you would be better off dead")
        self.assertContains(response, "More than half the days")
        self.assertContains(response, "<legend", count=10)  # 9 items and the difficulty question
        self.assertContains(response, 'type="datetime-local"')

    def test_saving_the_form_records_the_measure_and_returns_to_the_patient(self):
        self.sign_in(self.nurse)
        response = self.client.post(
            f"/patients/{self.patient.id}/measures/gad7/new/",
            form_data(GAD7_MILD, observed_at="2026-01-15T09:30", course=""),
        )
        self.assertRedirects(response, f"/patients/{self.patient.id}/")
        measure = Measure.objects.get()
        self.assertEqual(
            (measure.instrument, measure.answers, measure.total), ("gad7", GAD7_MILD, 6)
        )
        self.assertEqual(measure.observed_at, datetime(2026, 1, 15, 14, 30, tzinfo=UTC))

    def test_missing_items_are_named_and_nothing_is_saved(self):
        self.sign_in(self.nurse)
        data = form_data(PHQ9_CLEAN, observed_at="2026-01-15T09:30")
        del data["item_3"], data["item_9"]
        data["item_5"] = "7"
        response = self.client.post(f"/patients/{self.patient.id}/measures/phq9/new/", data)
        self.assertEqual(response.status_code, 200)
        errors = response.context["form"].errors
        self.assertEqual(sorted(errors), ["item_3", "item_5", "item_9"])
        self.assertIn("Answer item 3 (sleep).", errors["item_3"])
        self.assertContains(response, 'href="#q-item_9"')
        self.assertFalse(Measure.objects.exists())

    def test_a_time_before_the_patient_was_born_is_named_on_the_form_and_not_saved(self):
        self.sign_in(self.nurse)
        response = self.client.post(
            f"/patients/{self.patient.id}/measures/phq9/new/",
            form_data(PHQ9_CLEAN, observed_at="0001-01-01T00:00"),
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response.context["form"].errors["observed_at"], ["is before the patient was born"]
        )
        self.assertFalse(Measure.objects.exists())

    def test_an_item_nine_answer_shows_the_alert_at_the_top_of_the_patient_page(self):
        self.sign_in(self.nurse)
        response = self.client.post(
            f"/patients/{self.patient.id}/measures/phq9/new/",
            form_data(PHQ9_ITEM9, observed_at="2026-01-15T09:30"),
            follow=True,
        )
        self.assertContains(response, "Open safety alert")
        self.assertContains(response, "a safety alert is open at the top of this page")
        page = response.content.decode()
        self.assertLess(page.index("Open safety alert"), page.index("<h1>"))

    def test_other_clinics_get_404_and_roles_without_the_right_403(self):
        self.sign_in(self.prescriber_b)
        url = f"/patients/{self.patient.id}/measures/phq9/new/"
        self.assertEqual(self.client.get(url).status_code, 404)
        self.sign_in(self.front_desk)
        self.assertEqual(self.client.get(url).status_code, 403)
        self.assertEqual(self.client.post(url, form_data(PHQ9_CLEAN)).status_code, 403)
        self.sign_in(self.nurse)
        self.assertEqual(
            self.client.get(f"/patients/{self.patient.id}/measures/bdi/new/").status_code, 404
        )

    def test_the_detail_page_lists_each_answer_with_its_loinc_codes(self):
        measure = services.record_measure(self.nurse_actor, self.patient, "phq9", PHQ9_ITEM9)
        self.sign_in(self.therapist)
        response = self.client.get(f"/measures/{measure.id}/")
        self.assertContains(response, "LOINC 44260-8")
        self.assertContains(response, "44261-6")
        self.assertContains(response, "44249-1")
        self.assertContains(response, "⚠ Several days")
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(f"/measures/{measure.id}/").status_code, 404)


class HistoryTests(MeasuresTestCase):
    def record(self, count: int) -> list[Measure]:
        """``count`` PHQ-9s, a day apart, the newest first."""
        start = timezone.now() - timedelta(days=count)
        made = [
            services.record_measure(
                self.nurse_actor, self.patient, "phq9", [n % 4] * 8 + [0], now=start
            )
            for n in range(count)
        ]
        for day, measure in enumerate(made):
            Measure.objects.filter(pk=measure.pk).update(observed_at=start + timedelta(days=day))
        return list(reversed(made))

    def test_the_patients_page_shows_the_latest_ten_and_links_to_them_all(self):
        newest_first = self.record(12)
        self.sign_in(self.nurse)
        page = self.client.get(f"/patients/{self.patient.id}/")
        for measure in newest_first[:10]:
            self.assertContains(page, f'href="/measures/{measure.id}/"')
        for measure in newest_first[10:]:
            self.assertNotContains(page, f'href="/measures/{measure.id}/"')
        self.assertContains(page, "Latest questionnaires")
        self.assertContains(page, "The latest values are also in the table below")
        self.assertContains(page, f'href="/patients/{self.patient.id}/measures/">All 12')

    def test_up_to_ten_are_all_on_the_patients_page_without_a_link(self):
        self.record(10)
        self.sign_in(self.nurse)
        page = self.client.get(f"/patients/{self.patient.id}/")
        self.assertContains(page, "All questionnaires")
        self.assertNotContains(page, f'href="/patients/{self.patient.id}/measures/"')

    def test_the_page_of_them_all_lists_every_one_newest_first_a_page_at_a_time(self):
        newest_first = self.record(53)
        self.sign_in(self.nurse)
        before = AuditEvent.objects.count()
        first = self.client.get(f"/patients/{self.patient.id}/measures/")
        self.assertEqual(first.status_code, 200)
        self.assertEqual(list(first.context["page"]), newest_first[:50])
        self.assertContains(first, "Page 1 of 2")
        # One event for the page: the read of the patient.
        event = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual(AuditEvent.objects.count(), before + 1)
        self.assertEqual((event.action, event.object_id), (Action.READ, str(self.patient.id)))
        second = self.client.get(f"/patients/{self.patient.id}/measures/?page=2")
        self.assertEqual(list(second.context["page"]), newest_first[50:])

    def test_the_page_of_them_all_is_for_roles_that_read_questionnaires_at_the_clinic(self):
        self.record(1)
        self.sign_in(self.front_desk)
        self.assertEqual(self.client.get(f"/patients/{self.patient.id}/measures/").status_code, 403)
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(f"/patients/{self.patient.id}/measures/").status_code, 404)
