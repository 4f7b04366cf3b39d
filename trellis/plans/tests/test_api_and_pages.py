"""The plans API (read, create, book; maintenance propose and book) with every error it
documents, and the plan pages through HTTP."""

import io
import json
from datetime import timedelta

from django.core.management import call_command

from trellis.plans import services
from trellis.plans.models import MaintenancePlan, RelapseFlag, TreatmentPlan
from trellis.plans.tests.base import PlansTestCase


class PlansApiTests(PlansTestCase):
    def api(self, method, path, username="nurse", body=None):
        out = io.StringIO()
        call_command("issue_token", username, stdout=out)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {out.getvalue().strip()}"}
        if body is None:
            return getattr(self.client, method)(path, **headers)
        return getattr(self.client, method)(
            path, data=json.dumps(body), content_type="application/json", **headers
        )

    def test_create_read_and_book_a_plan(self):
        self.screen()
        created = self.api(
            "post",
            f"/api/v1/patients/{self.patient.id}/plans",
            body={
                "tms_protocol": "tms-10hz",
                "dose_protocol": "ketamine-iv-induction",
                "start_date": self.monday.isoformat(),
            },
        )
        self.assertEqual(created.status_code, 201, created.content)
        body = created.json()
        self.assertEqual(body["sequencing"], "separate_days")
        self.assertEqual([c["modality"] for c in body["courses"]], ["iv_ketamine", "tms"])
        self.assertEqual(body["outcome"]["measurement_count"], 0)
        read = self.api("get", f"/api/v1/plans/{body['id']}", "frontdesk")
        self.assertEqual(read.status_code, 200)
        self.assertIsNone(read.json()["outcome"])  # the front desk reads no questionnaires
        booked = self.api("post", f"/api/v1/plans/{body['id']}/book", "frontdesk")
        self.assertEqual(booked.status_code, 200, booked.content)
        self.assertEqual(len(booked.json()["booked"]), 42)
        again = self.api("post", f"/api/v1/plans/{body['id']}/book", "frontdesk")
        self.assertEqual((again.status_code, again.json()["code"]), (409, "nothing_to_book"))

    def test_errors_name_the_field_or_the_rule(self):
        self.screen()
        tms = self.start("tms-10hz")
        url = f"/api/v1/patients/{self.patient.id}/plans"
        # A TMS course given as the dose course.
        response = self.api(
            "post", url, body={"tms_course": str(tms.id), "dose_course": str(tms.id)}
        )
        self.assertEqual((response.status_code, response.json()["field"]), (422, "dose_course"))
        # Nothing for one side.
        response = self.api("post", url, body={"tms_course": str(tms.id)})
        self.assertEqual((response.status_code, response.json()["field"]), (422, "dose_protocol"))
        # A new esketamine course without its oral antidepressant.
        response = self.api(
            "post",
            url,
            body={
                "tms_course": str(tms.id),
                "dose_protocol": "esketamine-trd",
                "start_date": self.monday.isoformat(),
            },
        )
        self.assertEqual(
            (response.status_code, response.json()["field"]), (422, "concomitant_antidepressant")
        )
        self.assertFalse(TreatmentPlan.objects.exists())
        # A therapist may not create a plan; another clinic's patient is not found.
        response = self.api("post", url, "therapist", body={"tms_course": str(tms.id)})
        self.assertEqual(response.status_code, 403)
        response = self.api(
            "post", f"/api/v1/patients/{self.patient.id}/plans", "prescriber_b", body={}
        )
        self.assertEqual(response.status_code, 404)
        response = self.api("get", f"/api/v1/plans/{tms.id}")
        self.assertEqual(response.status_code, 404)

    def test_maintenance_through_the_api(self):
        course = self.start("esketamine-trd", start=self.clinic_a.today() - timedelta(weeks=9))
        url = f"/api/v1/patients/{self.patient.id}/maintenance-plans"
        response = self.api("post", url, body={"after_course": str(course.id)})
        self.assertEqual(
            (response.status_code, response.json()["code"]), (409, "induction_not_given")
        )
        self.give(course, 12)
        response = self.api("post", url, body={"after_course": str(course.id), "interval_days": 21})
        self.assertEqual((response.status_code, response.json()["field"]), (422, "interval_days"))
        response = self.api("post", url, body={"after_course": str(course.id)})
        self.assertEqual(response.status_code, 201, response.content)
        plan = response.json()
        self.assertEqual((plan["interval_days"], plan["interval_source"]), (14, "[R22]"))
        self.assertIsNotNone(plan["due"])
        self.assertIsNotNone(plan["proposed"])
        booked = self.api("post", f"/api/v1/maintenance-plans/{plan['id']}/book", "frontdesk", {})
        self.assertEqual(booked.status_code, 201, booked.content)
        self.assertEqual(booked.json()["kind"], "esketamine")
        again = self.api("post", f"/api/v1/maintenance-plans/{plan['id']}/book", "frontdesk", {})
        self.assertEqual(
            (again.status_code, again.json().get("code")), (409, "already_booked"), again.content
        )
        read = self.api("get", f"/api/v1/maintenance-plans/{plan['id']}")
        self.assertEqual(read.json()["next_booked"]["id"], booked.json()["id"])

    def test_a_relapse_flag_moves_the_booked_maintenance_session_through_the_api(self):
        course = self.start(
            "ketamine-iv-induction", start=self.clinic_a.today() - timedelta(weeks=3)
        )
        self.give(course, 6)
        url = f"/api/v1/patients/{self.patient.id}/maintenance-plans"
        plan = self.api("post", url, body={"after_course": str(course.id), "interval_days": 42})
        plan = plan.json()
        book = f"/api/v1/maintenance-plans/{plan['id']}/book"
        booked = self.api("post", book, "frontdesk", {})
        self.assertEqual(booked.status_code, 201, booked.content)
        self.phq9(20, self.days_ago(21), course)
        self.phq9(6, self.days_ago(7), course)
        self.phq9(13, self.days_ago(0, hour=0), course)
        moved = self.api("post", book, "frontdesk", {})
        self.assertEqual(moved.status_code, 200, moved.content)
        self.assertEqual(moved.json()["id"], booked.json()["id"])
        self.assertLess(moved.json()["start"], booked.json()["start"])
        read = self.api("get", f"/api/v1/maintenance-plans/{plan['id']}").json()
        self.assertEqual(read["next_booked"]["id"], booked.json()["id"])

    def test_the_openapi_documents_every_error(self):
        schema = self.client.get("/api/v1/openapi.json").json()
        for path, method, codes in [
            ("/api/v1/plans/{plan_id}", "get", {"401", "403", "404", "422"}),
            ("/api/v1/patients/{patient_id}/plans", "post", {"403", "404", "409", "422"}),
            ("/api/v1/plans/{plan_id}/book", "post", {"403", "404", "409"}),
            ("/api/v1/patients/{patient_id}/maintenance-plans", "post", {"403", "409", "422"}),
            ("/api/v1/maintenance-plans/{plan_id}/book", "post", {"403", "409", "422"}),
        ]:
            with self.subTest(path=path):
                self.assertLessEqual(codes, set(schema["paths"][path][method]["responses"]))


class PlanPageTests(PlansTestCase):
    def test_the_plan_page_shows_both_courses_on_one_calendar(self):
        dose = self.start("esketamine-trd")
        tms = self.start("tms-10hz")
        plan = services.create_plan(self.nursing, self.patient, tms_course=tms, dose_course=dose)
        self.sign_in(self.nurse)
        page = self.client.get(f"/plans/{plan.id}/")
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "E1")
        self.assertContains(page, "T1")
        self.assertContains(page, "Sertraline 100 mg daily")
        self.assertContains(page, "Whole plan")
        self.assertNotContains(page, "The calendar breaks the plan's rule")
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(f"/plans/{plan.id}/").status_code, 404)

    def test_the_form_creates_a_plan_from_new_courses_or_names_the_field(self):
        self.screen()
        self.sign_in(self.nurse)
        url = f"/patients/{self.patient.id}/plans/new/"
        self.assertEqual(self.client.get(url).status_code, 200)
        data = {
            "tms_course": "new",
            "dose_course": "new",
            "tms_protocol": "tms-itbs",
            "dose_protocol": "esketamine-trd",
            "start_date": self.monday.isoformat(),
            "sequencing": "same_day_after_discharge",
        }
        refused = self.client.post(url, data)
        self.assertEqual(refused.status_code, 422)
        self.assertIn("concomitant_antidepressant", refused.context["form"].errors)
        data["esketamine_monotherapy"] = "on"
        created = self.client.post(url, data)
        plan = TreatmentPlan.objects.get()
        self.assertRedirects(created, f"/plans/{plan.id}/")
        self.assertTrue(plan.dose_course.esketamine_monotherapy)
        self.assertEqual(plan.sequencing, "same_day_after_discharge")

    def test_the_flag_shows_on_the_patient_page_and_the_home_lists_and_is_reviewed(self):
        course = self.start(
            "ketamine-iv-induction", start=self.clinic_a.today() - timedelta(weeks=3)
        )
        self.give(course, 6)
        services.start_maintenance(self.nursing, self.patient, after_course=course)
        self.phq9(20, self.days_ago(40), course)
        self.phq9(5, self.days_ago(20), course)
        self.phq9(12, self.days_ago(0, hour=0), course)
        flag = RelapseFlag.objects.get()
        self.assertIsNotNone(flag.proposed_on)
        self.assertEqual(flag.maintenance_plan, MaintenancePlan.objects.get())
        for user in (self.nurse, self.prescriber, self.therapist, self.tms):
            self.sign_in(user)
            home = self.client.get("/")
            self.assertContains(home, "Relapse watch")
            self.assertContains(home, self.patient.family_name)
        self.sign_in(self.front_desk)
        self.assertNotContains(self.client.get(f"/patients/{self.patient.id}/"), "Relapse watch")
        self.sign_in(self.nurse)
        page = self.client.get(f"/patients/{self.patient.id}/")
        self.assertContains(page, "PHQ-9 rose after response")
        self.assertContains(page, "Brought forward")
        self.client.post(f"/relapse-flags/{flag.id}/review/", {"note": "Booster booked"})
        flag.refresh_from_db()
        self.assertEqual(flag.status, "reviewed")
        self.assertNotContains(self.client.get("/"), "PHQ-9 12 is 10 or more")
