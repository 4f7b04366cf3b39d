"""The first steps of the pathway through the pages: request → patient → screening → signed."""

from trellis.audit.models import Action, AuditEvent
from trellis.lib.errors import Conflict
from trellis.patients import services
from trellis.patients.models import AssessmentRequest, Patient, RequestStatus, Screening
from trellis.patients.tests.test_api import SAFE_ANSWERS
from trellis.testing import TrellisTestCase, actor_for

REQUEST = {
    "given_name": "Virginia",
    "family_name": "Woolf",
    "phone": "+1 860 555 0199",
    "email": "vw@example.com",
    "preferred_times": "mornings",
    "reason": "Depression that has not lifted",
    "consent_to_contact": "on",
    "website": "",
}


def screening_post(answers: dict, trials: list[dict]) -> dict:
    data = {
        "trials-TOTAL_FORMS": str(len(trials) + 1),
        "trials-INITIAL_FORMS": "0",
        "trials-MIN_NUM_FORMS": "0",
        "trials-MAX_NUM_FORMS": "20",
    }
    for key, value in answers.items():
        data[key] = ("yes" if value else "no") if isinstance(value, bool) else str(value)
    for i, trial in enumerate(trials):
        data.update(
            {
                f"trials-{i}-drug": trial["drug"],
                f"trials-{i}-weeks": str(trial["weeks"]),
                f"trials-{i}-adequate_dose": "yes" if trial["adequate_dose"] else "no",
                f"trials-{i}-outcome": trial["outcome"],
            }
        )
    return data


TWO_FAILED = [
    {"drug": "sertraline", "weeks": 8, "adequate_dose": True, "outcome": "inadequate_response"},
    {"drug": "bupropion", "weeks": 12, "adequate_dose": True, "outcome": "inadequate_response"},
]


class PathwayTests(TrellisTestCase):
    def test_request_to_signed_screening_through_the_pages(self):
        # 1. Someone asks for an assessment on the clinic's public page.
        response = self.client.post("/request/alpha/", REQUEST, REMOTE_ADDR="203.0.113.7")
        self.assertRedirects(response, "/request/alpha/thanks/")
        request = AssessmentRequest.objects.get()
        self.assertEqual((request.status, request.clinic), (RequestStatus.NEW, self.clinic_a))

        # 2. The front desk sees it in the queue and registers the patient in one step.
        self.sign_in(self.front_desk)
        self.assertContains(self.client.get("/requests/"), "Virginia Woolf")
        response = self.client.post(
            f"/requests/{request.id}/", {"birth_date": "1982-01-25", "sex": "female"}
        )
        patient = Patient.objects.get(family_name="Woolf")
        self.assertRedirects(response, f"/patients/{patient.id}/")
        request.refresh_from_db()
        self.assertEqual((request.status, request.patient), (RequestStatus.BOOKED, patient))
        self.assertEqual(patient.phone, "+18605550199")  # E.164

        # 3. A nurse records the intake.
        self.sign_in(self.nurse)
        response = self.client.post(
            f"/patients/{patient.id}/screenings/new/", screening_post(SAFE_ANSWERS, TWO_FAILED)
        )
        screening = Screening.objects.get(patient=patient)
        self.assertRedirects(response, f"/screenings/{screening.id}/")
        self.assertTrue(screening.trd)
        self.assertEqual(screening.status("tms"), "eligible")
        self.assertNotContains(self.client.get(f"/screenings/{screening.id}/"), "Sign screening")

        # 4. The prescriber signs it, and the patient page shows eligibility.
        self.sign_in(self.prescriber)
        response = self.client.post(f"/screenings/{screening.id}/sign/")
        self.assertRedirects(response, f"/screenings/{screening.id}/")
        screening.refresh_from_db()
        self.assertEqual(screening.signed_by, self.prescriber)
        page = self.client.get(f"/patients/{patient.id}/")
        self.assertContains(page, "✓ Eligible", count=8)  # four findings, four history cells
        self.assertContains(page, "Signed, current")

        # 5. Every step is in the audit trail.
        trail = list(
            AuditEvent.objects.filter(clinic=self.clinic_a)
            .order_by("seq")
            .values_list("action", "object_type", "username")
        )
        for step in [
            (Action.CREATE, "patients.assessmentrequest", "(public request form)"),
            (Action.QUERY, "patients.assessmentrequest", "frontdesk"),
            (Action.CREATE, "patients.patient", "frontdesk"),
            (Action.UPDATE, "patients.assessmentrequest", "frontdesk"),
            (Action.CREATE, "patients.screening", "nurse"),
            (Action.READ, "patients.screening", "nurse"),
            (Action.UPDATE, "patients.screening", "prescriber"),
            (Action.READ, "patients.patient", "prescriber"),
        ]:
            with self.subTest(step=step):
                self.assertIn(step, trail)

    def test_cautions_need_the_acknowledgement_box(self):
        self.sign_in(self.prescriber)
        self.client.post(
            f"/patients/{self.patient.id}/screenings/new/", screening_post(SAFE_ANSWERS, [])
        )
        screening = Screening.objects.get()
        page = self.client.post(f"/screenings/{screening.id}/sign/", follow=True)
        self.assertContains(page, "acknowledge them to sign")
        screening.refresh_from_db()
        self.assertFalse(screening.is_signed)
        self.client.post(f"/screenings/{screening.id}/sign/", {"acknowledge": "on"})
        screening.refresh_from_db()
        self.assertTrue(screening.is_signed and screening.cautions_acknowledged)

    def test_a_signed_screening_never_changes(self):
        actor = actor_for(self.prescriber, self.clinic_a)
        screening = services.create_screening(actor, self.patient, SAFE_ANSWERS, TWO_FAILED)
        services.sign_screening(actor, screening)
        with self.assertRaises(Conflict):
            services.update_screening(actor, screening, {}, [])
        self.sign_in(self.prescriber)
        response = self.client.post(f"/screenings/{screening.id}/edit/", screening_post({}, []))
        self.assertRedirects(response, f"/screenings/{screening.id}/")
        screening.refresh_from_db()
        self.assertEqual(screening.answers, SAFE_ANSWERS)

    def test_a_new_signed_screening_supersedes_the_old(self):
        actor = actor_for(self.prescriber, self.clinic_a)
        first = services.create_screening(actor, self.patient, SAFE_ANSWERS, TWO_FAILED)
        services.sign_screening(actor, first)
        second = services.create_screening(
            actor, self.patient, {**SAFE_ANSWERS, "seizure_history": True}, TWO_FAILED
        )
        services.sign_screening(actor, second, acknowledge_cautions=True)
        self.assertEqual(services.current_screening(self.patient), second)
        self.assertEqual(second.supersedes, first)
        self.sign_in(self.nurse)
        self.assertContains(self.client.get(f"/patients/{self.patient.id}/"), "Superseded")

    def test_the_form_shows_engine_errors_on_the_field(self):
        self.sign_in(self.nurse)
        response = self.client.post(
            f"/patients/{self.patient.id}/screenings/new/",
            screening_post({**SAFE_ANSWERS, "bp_systolic": 400, "bp_diastolic": 10}, []),
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("from 50 to 300", str(response.context["form"].errors["bp_systolic"]))
        self.assertFalse(Screening.objects.exists())

    def test_an_incomplete_trial_row_names_the_missing_fields(self):
        self.sign_in(self.nurse)
        data = screening_post(SAFE_ANSWERS, [])
        data["trials-0-drug"] = "fluoxetine"
        response = self.client.post(f"/patients/{self.patient.id}/screenings/new/", data)
        self.assertEqual(response.status_code, 200)
        errors = response.context["formset"].forms[0].errors
        self.assertEqual(set(errors), {"weeks", "adequate_dose", "outcome"})

    def test_unknown_is_the_default_answer_not_no(self):
        self.sign_in(self.nurse)
        self.client.post(f"/patients/{self.patient.id}/screenings/new/", screening_post({}, []))
        screening = Screening.objects.get()
        self.assertEqual(screening.answers, {})
        self.assertEqual(screening.status("esketamine"), "needs_info")

    def test_front_desk_and_administrators_do_not_see_screenings(self):
        actor = actor_for(self.prescriber, self.clinic_a)
        screening = services.create_screening(actor, self.patient, SAFE_ANSWERS, TWO_FAILED)
        for user in (self.front_desk, self.admin):
            with self.subTest(user=user.username):
                self.sign_in(user)
                self.assertEqual(self.client.get(f"/screenings/{screening.id}/").status_code, 403)
                page = self.client.get(f"/patients/{self.patient.id}/")
                self.assertNotContains(page, "Eligibility")


class PatientPagesTests(TrellisTestCase):
    def test_the_front_desk_registers_a_patient(self):
        self.sign_in(self.front_desk)
        response = self.client.post(
            "/patients/new/",
            {
                "given_name": "Emily",
                "family_name": "Dickinson",
                "birth_date": "1975-12-10",
                "sex": "female",
                "weight_kg": "55.2",
                "height_cm": "160",
            },
        )
        patient = Patient.objects.get(family_name="Dickinson")
        self.assertRedirects(response, f"/patients/{patient.id}/")
        self.assertEqual(float(patient.latest_measurement("weight_kg").weight_kg), 55.2)
        self.assertContains(self.client.get(f"/patients/{patient.id}/"), "55.2 kg")

    def test_bad_registrations_are_refused_by_field_and_nothing_is_written(self):
        self.sign_in(self.front_desk)
        valid = {
            "given_name": "Emily",
            "family_name": "Dickinson",
            "birth_date": "1975-12-10",
            "sex": "female",
        }
        for change, field in [
            ({"given_name": " "}, "given_name"),
            ({"birth_date": "2999-01-01"}, "birth_date"),
            ({"weight_kg": "900"}, "weight_kg"),
        ]:
            with self.subTest(field=field):
                response = self.client.post("/patients/new/", {**valid, **change})
                self.assertEqual(response.status_code, 200)
                self.assertIn(field, response.context["form"].errors)
        self.assertFalse(Patient.objects.filter(family_name="Dickinson").exists())

    def test_editing_is_audited_with_the_changed_fields(self):
        self.sign_in(self.nurse)
        data = {
            "given_name": "Ada",
            "family_name": "Lovelace",
            "birth_date": "1980-05-17",
            "sex": "female",
            "phone": "+44 20 7946 0000",
        }
        self.client.post(f"/patients/{self.patient.id}/edit/", data)
        event = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual((event.action, event.detail), (Action.UPDATE, {"changed": ["phone"]}))

    def test_therapists_may_read_but_not_edit(self):
        self.sign_in(self.therapist)
        self.assertEqual(self.client.get(f"/patients/{self.patient.id}/edit/").status_code, 403)
        self.assertEqual(self.client.get("/patients/new/").status_code, 403)

    def test_recording_a_future_measurement_is_refused(self):
        self.sign_in(self.nurse)
        response = self.client.post(
            f"/patients/{self.patient.id}/measurements/new/",
            {"measured_on": "2999-01-01", "weight_kg": "70"},
        )
        self.assertIn("measured_on", response.context["form"].errors)


class PublicRequestTests(TrellisTestCase):
    def test_bots_filling_the_hidden_field_are_thanked_and_ignored(self):
        response = self.client.post("/request/alpha/", {**REQUEST, "website": "http://spam"})
        self.assertRedirects(response, "/request/alpha/thanks/")
        self.assertFalse(AssessmentRequest.objects.exists())

    def test_it_limits_requests_from_one_address(self):
        for _ in range(services.REQUESTS_PER_HOUR):
            self.client.post("/request/alpha/", REQUEST, REMOTE_ADDR="198.51.100.2")
        response = self.client.post("/request/alpha/", REQUEST, REMOTE_ADDR="198.51.100.2")
        self.assertEqual(response.status_code, 429)
        self.assertEqual(AssessmentRequest.objects.count(), services.REQUESTS_PER_HOUR)
        other = self.client.post("/request/alpha/", REQUEST, REMOTE_ADDR="198.51.100.3")
        self.assertEqual(other.status_code, 302)

    def test_it_reveals_nothing_about_existing_patients(self):
        existing = self.client.post(
            "/request/alpha/", {**REQUEST, "given_name": "Ada", "family_name": "Lovelace"}
        )
        new = self.client.post("/request/alpha/", REQUEST)
        self.assertEqual(existing.url, new.url)
        thanks = self.client.get(existing.url)
        self.assertNotContains(thanks, "Lovelace")
        self.assertNotContains(thanks, self.patient.mrn)

    def test_it_needs_a_way_to_reply_and_consent(self):
        response = self.client.post(
            "/request/alpha/", {**REQUEST, "phone": "", "email": "", "consent_to_contact": ""}
        )
        self.assertEqual(response.status_code, 200)
        errors = response.context["form"].errors
        self.assertIn("consent_to_contact", errors)
        self.assertIn("phone", errors)
        self.assertFalse(AssessmentRequest.objects.exists())

    def test_an_unknown_clinic_is_404(self):
        self.assertEqual(self.client.get("/request/nowhere/").status_code, 404)

    def test_the_queue_is_for_front_desk_and_clinicians_not_therapists(self):
        self.sign_in(self.therapist)
        self.assertEqual(self.client.get("/requests/").status_code, 403)

    def test_another_clinic_cannot_open_a_request(self):
        self.client.post("/request/alpha/", REQUEST)
        request = AssessmentRequest.objects.get()
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(f"/requests/{request.id}/").status_code, 404)

    def test_the_front_desk_moves_a_request_through_its_states(self):
        self.client.post("/request/alpha/", REQUEST)
        request = AssessmentRequest.objects.get()
        self.sign_in(self.front_desk)
        self.client.post(
            f"/requests/{request.id}/status/", {"status": "contacted", "note": "Left a voicemail"}
        )
        request.refresh_from_db()
        self.assertEqual(
            (request.status, request.handled_by), (RequestStatus.CONTACTED, self.front_desk)
        )
        self.assertEqual(
            [c.note for c in request.contacts.all()], ["Marked contacted: Left a voicemail"]
        )
        self.client.post(f"/requests/{request.id}/status/", {"status": "declined"})
        request.refresh_from_db()
        self.assertEqual(request.status, RequestStatus.DECLINED)
