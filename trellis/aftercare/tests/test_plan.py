"""The aftercare plan: made and edited by the care team, its rules checked by name, shown on
the patient page, and prepared for the patient's portal."""

from datetime import timedelta

from trellis.aftercare import selectors, services
from trellis.aftercare.models import AftercarePlan, CoachingSession
from trellis.aftercare.tests.base import AftercareTestCase
from trellis.audit.models import AuditEvent
from trellis.lib.errors import InputError

FULL = {
    "check_ins": "on",
    "journal": "on",
    "follow_up": "external",
    "referral_to": "Dr. R. Okafor, Lakeshore Counselling",
    "referral_status": "sent",
    "coaching": "on",
    "coaching_goals": "Walk 20 minutes a day; back to work part-time",
    "coaching_sessions_planned": "6",
    "mindfulness": "on",
    "mindfulness_resources": "Body-scan recording; breathing card",
    "group": "on",
    "group_reference": "Integration group, 8 weeks",
    "notes": "",
}


class PlanTests(AftercareTestCase):
    def url(self, patient=None):
        return f"/aftercare/patients/{(patient or self.patient).id}/plan/"

    def post(self, **changes):
        data = {**FULL, "referral_date": str(self.clinic_a.today()), "course": str(self.course.pk)}
        data.update(changes)
        return self.client.post(self.url(), {k: v for k, v in data.items() if v is not None})

    def test_the_care_team_makes_and_edits_a_plan(self):
        self.sign_in(self.therapist)
        self.assertContains(self.client.get(self.url()), "New aftercare plan")
        self.assertRedirects(
            self.post(), f"/patients/{self.patient.id}/#aftercare", fetch_redirect_response=False
        )
        plan = AftercarePlan.objects.get()
        self.assertEqual(plan.course, self.course)
        self.assertEqual(
            plan.component_labels(),
            ["Check-ins", "Journal", "Follow-up", "Health coaching", "Mindfulness", "Group"],
        )
        page = self.client.get(f"/patients/{self.patient.id}/")
        self.assertContains(page, "Dr. R. Okafor, Lakeshore Counselling")
        self.assertContains(page, "Referral sent")
        self.assertContains(page, "Integration group, 8 weeks")
        # Edited in place: one plan, the change audited by field name only.
        self.post(group=None, group_reference="")
        self.assertEqual(AftercarePlan.objects.count(), 1)
        self.assertFalse(AftercarePlan.objects.get().group)
        event = AuditEvent.objects.get(object_type="aftercare.aftercareplan", action="update")
        self.assertIn("group", event.detail["fields"])
        self.assertNotIn("Okafor", str(event.detail))

    def test_each_rule_is_named_on_its_field(self):
        self.sign_in(self.nurse)
        cases = [
            ({"referral_to": ""}, "say who the patient is referred to"),
            ({"referral_status": ""}, "choose where the referral stands"),
            ({"referral_date": ""}, "give the date the referral was made"),
            (
                {"referral_date": str(self.clinic_a.today() + timedelta(days=1))},
                "cannot be in the future",
            ),
            ({"coaching_goals": ""}, "write at least one coaching goal"),
            ({"mindfulness_resources": " "}, "name the resources offered"),
            ({"group_reference": ""}, "name the group or cohort"),
            ({"follow_up": "internal"}, "choose the clinician the patient will see"),
        ]
        for changes, message in cases:
            with self.subTest(changes=changes):
                response = self.post(**changes)
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, message)
                self.assertFalse(AftercarePlan.objects.exists())

    def test_a_plan_with_nothing_chosen_is_refused(self):
        self.sign_in(self.nurse)
        response = self.client.post(self.url(), {"follow_up": ""})
        self.assertContains(response, "choose at least one part of aftercare")
        self.assertFalse(AftercarePlan.objects.exists())

    def test_internal_follow_up_names_a_clinician_of_this_clinic(self):
        data = services.PlanInput(
            follow_up="internal",
            follow_up_clinician_id=self.prescriber_b.pk,
            referral_status="proposed",
        )
        with self.assertRaises(InputError) as raised:
            services.save_plan(self.nurse_actor, self.patient, data)
        self.assertEqual(raised.exception.field, "follow_up_clinician")
        data.follow_up_clinician_id = self.therapist.pk
        plan = services.save_plan(self.nurse_actor, self.patient, data)
        self.assertEqual(plan.follow_up_clinician, self.therapist)
        self.assertEqual(selectors.plan_for_portal(self.patient).follow_up, "Therapist")

    def test_another_patients_course_is_refused(self):
        other = services.PlanInput(course=self.course, journal=True)
        with self.assertRaises(InputError) as raised:
            services.save_plan(self.nurse_actor, self.other_patient, other)
        self.assertEqual(raised.exception.field, "course")

    def test_who_may_edit(self):
        self.sign_in(self.front_desk)
        self.assertEqual(self.client.get(self.url()).status_code, 403)
        self.sign_in(self.admin)
        self.assertEqual(self.client.get(self.url()).status_code, 403)
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(self.url()).status_code, 404)

    def test_the_portal_reads_what_the_patient_agreed_to_and_no_staff_notes(self):
        self.assertIsNone(selectors.plan_for_portal(self.patient))
        self.sign_in(self.nurse)
        self.post(notes="Discussed ambivalence about work")
        portal = selectors.plan_for_portal(self.patient)
        self.assertEqual(portal.follow_up, "Dr. R. Okafor, Lakeshore Counselling")
        self.assertEqual(portal.referral_status, "Referral sent")
        self.assertEqual(portal.group, "Integration group, 8 weeks")
        self.assertNotIn("ambivalence", str(portal))


class CoachingTests(AftercareTestCase):
    def setUp(self):
        self.plan = services.save_plan(
            self.nurse_actor,
            self.patient,
            services.PlanInput(coaching=True, coaching_goals="Sleep by 11", check_ins=True),
        )

    def test_sessions_are_recorded_with_their_code_and_never_charged(self):
        self.sign_in(self.nurse)
        url = f"/aftercare/patients/{self.patient.id}/coaching/"
        today = str(self.clinic_a.today())
        response = self.client.post(url, {"held_on": today, "code": "0592T", "minutes": "20"})
        self.assertContains(response, "0592T (individual follow-up) needs at least 30 minutes")
        response = self.client.post(url, {"held_on": today, "code": "0592T", "minutes": "35"})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(CoachingSession.objects.get().code, "0592T")
        page = self.client.get(f"/patients/{self.patient.id}/")
        self.assertContains(page, "0592T")

    def test_one_initial_assessment_per_plan(self):
        day = self.clinic_a.today()
        services.record_coaching_session(
            self.nurse_actor, self.plan, held_on=day, code="0591T", minutes=40
        )
        with self.assertRaises(InputError) as raised:
            services.record_coaching_session(
                self.nurse_actor, self.plan, held_on=day, code="0591T", minutes=40
            )
        self.assertEqual(raised.exception.field, "code")


class CardTests(AftercareTestCase):
    def test_the_card_loads_in_a_fixed_number_of_queries_and_renders_without_any(self):
        from datetime import timedelta as td

        from django.template import Context, Template
        from django.utils import timezone

        plan = services.save_plan(
            self.nurse_actor,
            self.patient,
            services.PlanInput(
                course=self.course,
                coaching=True,
                coaching_goals="Walk daily",
                follow_up="internal",
                follow_up_clinician_id=self.therapist.pk,
                referral_status="accepted",
                referral_date=self.clinic_a.today(),
            ),
        )
        services.record_coaching_session(
            self.nurse_actor, plan, held_on=self.clinic_a.today(), code="0591T", minutes=30
        )
        self.signed_session(timezone.now() - td(hours=1), number=1)
        self.signed_session(timezone.now() - td(hours=1), number=2)
        services.add_journal_entry(self.nurse_actor, self.patient, "Calm week", shared=True)
        services.add_journal_entry(self.nurse_actor, self.patient, "Mine only", shared=False)
        # Plan, coaching, check-ins, shared journal, private count, and how a check-in reaches
        # the patient (the portal's notification settings, through ``patients.contact``).
        with self.assertNumQueries(6):
            card = selectors.patient_card(self.nurse_actor, self.patient)
        template = Template('{% include "aftercare/includes/patient_card.html" %}')
        with self.assertNumQueries(0):
            html = template.render(Context({"card": card}))
        self.assertIn("Calm week", html)
        self.assertNotIn("Mine only", html)
        self.assertIn("Session 2, 72 h", html)
        self.assertIn("0591T", html)
