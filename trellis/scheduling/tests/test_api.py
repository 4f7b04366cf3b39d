"""The appointments API (DESIGN.md §5.1)."""

from datetime import UTC, datetime
from unittest import mock

from trellis.accounts.permissions import Role
from trellis.patients.tests.test_api import ApiTestCase
from trellis.scheduling.models import Appointment
from trellis.scheduling.tests.base import SchedulingTestCase, add_resource
from trellis.testing import actor_for, make_clinic, make_patient, make_staff


class AppointmentApiTests(SchedulingTestCase, ApiTestCase):
    def post(self, username="frontdesk", **body):
        values = {
            "patient": str(self.patient.id),
            "kind": "iv_ketamine",
            "start": self.at(9).isoformat(),
            "resource": str(self.chair.id),
        }
        values.update(body)
        return self.call("post", "/api/v1/appointments", username, values)

    def test_it_books_and_answers_with_the_clinics_offset(self):
        response = self.post(minutes=60)
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(
            {k: body[k] for k in ("patient", "kind", "resource", "status", "minutes")},
            {
                "patient": str(self.patient.id),
                "kind": "iv_ketamine",
                "resource": str(self.chair.id),
                "status": "booked",
                "minutes": 60,
            },
        )
        self.assertEqual(datetime.fromisoformat(body["start"]), self.at(9))
        self.assertEqual(body["start"], self.at(9).isoformat())
        self.assertEqual(datetime.fromisoformat(body["end"]), self.at(10))

    def test_a_clash_is_409_naming_the_other_booking(self):
        self.post()
        response = self.post(patient=str(self.other_patient.id), start=self.at(10).isoformat())
        self.assertEqual(response.status_code, 409)
        self.assertEqual(response.json()["code"], "resource_taken")
        self.assertIn("09:00–10:30", response.json()["detail"])
        response = self.post(
            kind="esketamine", resource=str(self.chair_2.id), start=self.at(12).isoformat()
        )
        self.assertEqual((response.status_code, response.json()["code"]), (409, "ketamine_day"))
        response = self.post(
            "prescriber",
            kind="esketamine",
            resource=str(self.chair_2.id),
            start=self.at(12).isoformat(),
            override_reason="Agreed second dose",
        )
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["override_reason"], "Agreed second dose")

    def test_a_non_prescriber_override_is_403(self):
        self.post()
        response = self.post(
            "nurse",
            kind="esketamine",
            start=self.at(12).isoformat(),
            override_reason="Please",
            resource=str(self.chair_2.id),
        )
        self.assertEqual(response.status_code, 403)

    def test_bad_input_is_422_naming_the_field(self):
        for body, field in (
            ({"kind": "massage"}, "kind"),
            ({"start": "tomorrow"}, "start"),
            ({"minutes": 0}, "minutes"),
            ({"kind": "tms"}, "resource"),
            ({"resource": str(self.patient.id)}, "resource"),
            ({"start": self.at(20).isoformat()}, "start"),
        ):
            response = self.post(**body)
            self.assertEqual(response.status_code, 422, (body, response.content))
            self.assertEqual(response.json()["field"], field, body)
        self.assertFalse(Appointment.objects.exists())

    def test_another_clinics_patient_and_appointment_are_404(self):
        response = self.post(patient=str(self.patient_b.id))
        self.assertEqual(response.status_code, 404)
        appointment_id = self.post().json()["id"]
        response = self.call(
            "post",
            f"/api/v1/appointments/{appointment_id}/status",
            "prescriber_b",
            {"status": "confirmed"},
        )
        self.assertEqual(response.status_code, 404)
        response = self.call("get", f"/api/v1/appointments?date={self.monday}", "prescriber_b")
        self.assertEqual(response.json(), [])

    def test_without_a_token_it_is_401(self):
        response = self.client.get(f"/api/v1/appointments?date={self.monday}")
        self.assertEqual(response.status_code, 401)

    def test_the_day_list_is_in_start_order(self):
        self.post(start=self.at(13).isoformat())
        self.post(
            patient=str(self.other_patient.id),
            kind="therapy",
            resource=str(self.room.id),
            start=self.at(9).isoformat(),
        )
        response = self.call("get", f"/api/v1/appointments?date={self.monday}", "therapist")
        self.assertEqual(response.status_code, 200)
        self.assertEqual([a["kind"] for a in response.json()], ["therapy", "iv_ketamine"])
        bad = self.call("get", "/api/v1/appointments?date=2026-02-30", "therapist")
        self.assertEqual((bad.status_code, bad.json()["field"]), (422, "date"))

    def test_status_changes_and_their_rules(self):
        appointment_id = self.post().json()["id"]
        url = f"/api/v1/appointments/{appointment_id}/status"
        response = self.call("post", url, "frontdesk", {"status": "confirmed"})
        self.assertEqual((response.status_code, response.json()["status"]), (200, "confirmed"))
        response = self.call("post", url, "frontdesk", {"status": "cancelled"})
        self.assertEqual((response.status_code, response.json()["field"]), (422, "reason"))
        response = self.call("post", url, "frontdesk", {"status": "checked_in"})
        self.assertEqual((response.status_code, response.json()["code"]), (409, "not_yet"))
        response = self.call("post", url, "therapist", {"status": "cancelled", "reason": "x"})
        self.assertEqual(response.status_code, 403)
        response = self.call("post", url, "frontdesk", {"status": "cancelled", "reason": "Flu"})
        self.assertEqual(response.json()["status"], "cancelled")
        response = self.call("post", url, "frontdesk", {"status": "confirmed"})
        self.assertEqual((response.status_code, response.json()["code"]), (409, "transition"))

    def test_it_lists_the_resources(self):
        response = self.call("get", "/api/v1/resources", "frontdesk")
        names = [r["name"] for r in response.json()]
        self.assertEqual(names, ["Chair 1", "Chair 2", "Room 1", "NeuroStar"])
        self.assertEqual(response.json()[3]["model"], "NeuroStar Advanced Therapy")


class LosAngelesApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.west = make_clinic("west", "West Clinic", "WST", tz="America/Los_Angeles")
        make_staff("westdesk", cls.west, Role.FRONT_DESK)
        cls.west_patient = make_patient(
            actor_for(cls.west.memberships.get().user, cls.west), "Mary", "Shelley"
        )
        cls.west_chair = add_resource(cls.west, "West chair", "chair")

    def book(self, start: str):
        body = {
            "patient": str(self.west_patient.id),
            "kind": "iv_ketamine",
            "start": start,
            "resource": str(self.west_chair.id),
        }
        with mock.patch("django.utils.timezone.now", return_value=datetime(2027, 3, 1, tzinfo=UTC)):
            return self.call("post", "/api/v1/appointments", "westdesk", body)

    def test_8_am_local_is_answered_with_the_offset_of_that_day(self):
        # DST begins Sunday 14 March 2027 in Los Angeles.
        before = self.book("2027-03-12T08:00:00")
        after = self.book("2027-03-15T08:00:00-07:00")
        self.assertEqual(before.status_code, 201, before.content)
        self.assertEqual(after.status_code, 201, after.content)
        self.assertEqual(before.json()["start"], "2027-03-12T08:00:00-08:00")
        self.assertEqual(after.json()["start"], "2027-03-15T08:00:00-07:00")
        stored = Appointment.objects.order_by("start").values_list("start", flat=True)
        self.assertEqual(
            list(stored),
            [datetime(2027, 3, 12, 16, tzinfo=UTC), datetime(2027, 3, 15, 15, tzinfo=UTC)],
        )
        with mock.patch("django.utils.timezone.now", return_value=datetime(2027, 3, 1, tzinfo=UTC)):
            listed = self.call("get", "/api/v1/appointments?date=2027-03-15", "westdesk").json()
        self.assertEqual([a["start"] for a in listed], ["2027-03-15T08:00:00-07:00"])
        self.assertEqual(listed[0]["day"], "2027-03-15")

    def test_a_utc_start_is_the_same_moment(self):
        response = self.book("2027-03-15T15:00:00Z")
        self.assertEqual(response.json()["start"], "2027-03-15T08:00:00-07:00")
