"""The measures API of DESIGN.md §5: questionnaires, alerts, acknowledge, course outcome."""

from datetime import UTC, datetime

from trellis.audit.models import Action, AuditEvent
from trellis.measures import services
from trellis.measures.models import Measure
from trellis.measures.tests.helpers import (
    GAD7_MILD,
    PHQ9_CLEAN,
    PHQ9_ITEM9,
    MeasuresTestCase,
    answers_totalling,
)
from trellis.safety import services as alerts
from trellis.safety.models import SafetyAlert


class MeasureApiTests(MeasuresTestCase):
    def post(self, body, username="nurse", patient=None):
        patient = patient or self.patient
        return self.api("post", f"/api/v1/patients/{patient.id}/measures", username, body)

    def test_it_records_a_phq9_and_returns_total_severity_and_no_alerts(self):
        response = self.post({"instrument": "phq9", "answers": PHQ9_CLEAN, "difficulty": 1})
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(
            (body["instrument"], body["total"], body["severity"], body["alerts"]),
            ("phq9", 11, "moderate", []),
        )
        self.assertEqual((body["answers"], body["difficulty"]), (PHQ9_CLEAN, 1))
        self.assertEqual((body["loinc_panel"], body["loinc_total"]), ("44249-1", "44261-6"))
        self.assertEqual(Measure.objects.get(pk=body["id"]).entered_via, "api")

    def test_item_nine_returns_the_alert_it_raised(self):
        body = self.post({"instrument": "phq9", "answers": [*PHQ9_ITEM9[:8], 3]}).json()
        alert = SafetyAlert.objects.get()
        self.assertEqual(
            body["alerts"], [{"id": str(alert.pk), "kind": "suicide_item", "severity": "urgent"}]
        )

    def test_every_severity_code_is_one_of_the_published_five(self):
        for total, severity in (
            (4, "minimal"),
            (9, "mild"),
            (14, "moderate"),
            (19, "moderately_severe"),
            (27, "severe"),
        ):
            with self.subTest(total=total):
                body = self.post(
                    {
                        "instrument": "phq9",
                        "answers": answers_totalling(9, total, item9=3 if total == 27 else 0),
                    }
                ).json()
                self.assertEqual((body["total"], body["severity"]), (total, severity))

    def test_bad_answers_get_422_naming_the_item_and_nothing_is_written(self):
        cases = [
            ({"instrument": "phq9", "answers": PHQ9_CLEAN[:7]}, "answers", "needs 9 answers"),
            (
                {"instrument": "phq9", "answers": [*PHQ9_CLEAN[:4], 5, *PHQ9_CLEAN[5:]]},
                "answers[4]",
                "item 5 (appetite)",
            ),
            ({"instrument": "phq9", "answers": [*PHQ9_CLEAN[:8], "2"]}, "answers[8]", "item 9"),
            ({"instrument": "gad7", "answers": [1, 1, 1, 1.5, 1, 1, 1]}, "answers[3]", "item 4"),
            (
                {"instrument": "gad7", "answers": GAD7_MILD, "difficulty": 2},
                "difficulty",
                "no difficulty",
            ),
            (
                {"instrument": "phq9", "answers": PHQ9_CLEAN, "difficulty": 9},
                "difficulty",
                "must be one of",
            ),
            (
                {"instrument": "madrs", "answers": PHQ9_CLEAN},
                "instrument",
                "must be one of 'phq9' or 'gad7'",
            ),
            (
                {
                    "instrument": "phq9",
                    "answers": PHQ9_CLEAN,
                    "observed_at": "2999-01-01T00:00:00Z",
                },
                "observed_at",
                "future",
            ),
            (
                {
                    "instrument": "phq9",
                    "answers": PHQ9_CLEAN,
                    "observed_at": "0001-01-01T00:00:00Z",
                },
                "observed_at",
                "before the patient was born",
            ),
            (
                {
                    "instrument": "phq9",
                    "answers": PHQ9_CLEAN,
                    "course": "00000000-0000-4000-8000-000000000000",
                },
                "course",
                "not a course",
            ),
        ]
        for body, field, words in cases:
            with self.subTest(field=field, body=body):
                response = self.post(body)
                self.assertEqual(response.status_code, 422, response.content)
                self.assertEqual(response.json()["field"], field)
                self.assertIn(words, response.json()["detail"])
        self.assertFalse(Measure.objects.exists())

    def test_a_body_that_is_not_the_schema_gets_422(self):
        response = self.post({"instrument": "phq9"})
        self.assertEqual(response.status_code, 422)
        self.assertIn("answers", str(response.json()["detail"]))

    def test_roles_and_clinics(self):
        body = {"instrument": "phq9", "answers": PHQ9_CLEAN}
        self.assertEqual(self.post(body, "frontdesk").status_code, 403)
        self.assertEqual(self.post(body, "prescriber_b").status_code, 404)
        self.assertEqual(
            self.api("get", f"/api/v1/patients/{self.patient.id}/measures", "admin").status_code,
            403,
        )
        self.assertEqual(
            self.api(
                "get", f"/api/v1/patients/{self.patient.id}/measures", "prescriber_b"
            ).status_code,
            404,
        )
        self.assertFalse(Measure.objects.exists())

    def test_the_list_is_oldest_first_and_filters_by_instrument(self):
        for when, code, answers in (
            ("2026-03-09T10:00:00Z", "phq9", PHQ9_CLEAN),
            ("2026-03-02T10:00:00Z", "phq9", [0] * 9),
            ("2026-03-05T10:00:00Z", "gad7", GAD7_MILD),
        ):
            self.post({"instrument": code, "answers": answers, "observed_at": when})
        everything = self.api(
            "get", f"/api/v1/patients/{self.patient.id}/measures", "therapist"
        ).json()
        self.assertEqual(
            [m["observed_at"][:10] for m in everything], ["2026-03-02", "2026-03-05", "2026-03-09"]
        )
        phq = self.api(
            "get", f"/api/v1/patients/{self.patient.id}/measures?instrument=phq9", "therapist"
        ).json()
        self.assertEqual([m["total"] for m in phq], [0, 11])
        self.assertEqual(
            self.api(
                "get", f"/api/v1/patients/{self.patient.id}/measures?instrument=x"
            ).status_code,
            422,
        )


class AlertApiTests(MeasuresTestCase):
    def setUp(self):
        self.measure = services.record_measure(self.nurse_actor, self.patient, "phq9", PHQ9_ITEM9)
        self.alert = SafetyAlert.objects.get()

    def test_open_alerts_of_the_callers_clinic(self):
        alerts.raise_alert(None, self.patient_b, "seizure", "urgent", "Other clinic")
        response = self.api("get", "/api/v1/alerts?status=open", "therapist")
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual(len(body), 1)
        self.assertEqual(
            {k: body[0][k] for k in ("id", "patient", "kind", "severity", "status")},
            {
                "id": str(self.alert.pk),
                "patient": str(self.patient.pk),
                "kind": "suicide_item",
                "severity": "elevated",
                "status": "open",
            },
        )
        self.assertIn("created_at", body[0])
        self.assertEqual(AuditEvent.objects.order_by("-seq").first().action, Action.QUERY)

    def test_acknowledge_with_a_note(self):
        response = self.api(
            "post",
            f"/api/v1/alerts/{self.alert.pk}/acknowledge",
            "prescriber",
            {
                "note": "Called the patient: no plan or intent; safety plan updated.",
                "actions": ["contacted_patient", "safety_plan"],
            },
        )
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        self.assertEqual((body["status"], body["acknowledged_by"]), ("acknowledged", "prescriber"))
        self.assertEqual(body["actions"], ["contacted_patient", "safety_plan"])
        self.assertEqual(self.api("get", "/api/v1/alerts?status=open").json(), [])
        acknowledged = self.api("get", "/api/v1/alerts?status=acknowledged").json()
        self.assertEqual([a["id"] for a in acknowledged], [str(self.alert.pk)])

    def test_acknowledging_twice_is_409_and_an_empty_note_422(self):
        url = f"/api/v1/alerts/{self.alert.pk}/acknowledge"
        empty = self.api("post", url, "nurse", {"note": " "})
        self.assertEqual((empty.status_code, empty.json()["field"]), (422, "note"))
        self.assertEqual(self.api("post", url, "nurse", {"note": "Seen."}).status_code, 200)
        again = self.api("post", url, "prescriber", {"note": "Seen too."})
        self.assertEqual((again.status_code, again.json()["code"]), (409, "already_acknowledged"))

    def test_roles_and_clinics(self):
        url = f"/api/v1/alerts/{self.alert.pk}/acknowledge"
        self.assertEqual(self.api("post", url, "tms", {"note": "x"}).status_code, 403)
        self.assertEqual(self.api("post", url, "prescriber_b", {"note": "x"}).status_code, 404)
        self.assertEqual(self.api("get", "/api/v1/alerts", "frontdesk").status_code, 403)
        self.assertEqual(
            self.api("get", f"/api/v1/alerts/{self.alert.pk}", "prescriber_b").status_code, 404
        )
        self.assertEqual(self.api("get", "/api/v1/alerts?status=closed").status_code, 422)
        self.assertEqual(SafetyAlert.objects.get().status, "open")


class OutcomeApiTests(MeasuresTestCase):
    def record(self, course, day: int, total: int, instrument="phq9"):
        count = 9 if instrument == "phq9" else 7
        return services.record_measure(
            self.nurse_actor,
            self.patient,
            instrument,
            answers_totalling(count, total),
            observed_at=datetime(2026, 3, day, 9, 0, tzinfo=UTC),
            course=course,
        )

    def outcome(self, course, username="prescriber"):
        return self.api("get", f"/api/v1/courses/{course.pk}/outcome", username)

    def test_worked_example_a_response_without_remission(self):
        course = self.start_course()
        # Entered out of order: baseline is the earliest, latest the most recent.
        for day, total in ((9, 12), (2, 22), (13, 9), (5, 17)):
            self.record(course, day, total)
        self.record(course, 3, 1, instrument="gad7")  # GAD-7 does not count
        # Nor does a PHQ-9 of no course (taken before the course asked for any).
        services.record_measure(
            self.nurse_actor,
            self.patient,
            "phq9",
            answers_totalling(9, 2),
            observed_at=datetime(2026, 2, 1, 9, 0, tzinfo=UTC),
        )
        body = self.outcome(course).json()
        self.assertEqual(
            {
                k: body[k]
                for k in (
                    "baseline",
                    "latest",
                    "change",
                    "change_pct",
                    "response",
                    "remission",
                    "mcid_met",
                    "measurement_count",
                )
            },
            {
                "baseline": 22,
                "latest": 9,
                "change": -13,
                "change_pct": 59.1,
                "response": True,
                "remission": False,
                "mcid_met": True,
                "measurement_count": 4,
            },
        )
        self.assertEqual(
            body["thresholds"], {"response_fall_pct": 50, "remission_below": 5, "mcid_points": 5}
        )

    def test_worked_example_remission(self):
        course = self.start_course()
        self.record(course, 2, 18)
        self.record(course, 13, 4)
        body = self.outcome(course).json()
        self.assertEqual(
            (body["change_pct"], body["response"], body["remission"]), (77.8, True, True)
        )

    def test_worked_example_no_response_just_short_of_half(self):
        course = self.start_course()
        self.record(course, 2, 20)
        self.record(course, 13, 11)
        body = self.outcome(course).json()
        self.assertEqual(
            (body["change_pct"], body["response"], body["mcid_met"]), (45.0, False, True)
        )

    def test_a_course_without_phq9s_has_no_outcome_yet(self):
        body = self.outcome(self.start_course()).json()
        self.assertEqual((body["baseline"], body["latest"], body["response"]), (None, None, False))

    def test_roles_and_clinics(self):
        course = self.start_course()
        self.assertEqual(self.outcome(course, "prescriber_b").status_code, 404)
        self.assertEqual(self.outcome(course, "frontdesk").status_code, 403)
        self.assertEqual(self.api("get", "/api/v1/courses/nope/outcome").status_code, 404)
