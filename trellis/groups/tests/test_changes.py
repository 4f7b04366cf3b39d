"""Changing a planned cohort: cancelling it."""

from datetime import datetime, time, timedelta

from trellis.audit.models import AuditEvent
from trellis.groups import services
from trellis.groups.models import Cohort, Enrolment, EnrolmentStatus
from trellis.groups.tests.base import GroupsTestCase
from trellis.lib.errors import Conflict, InputError
from trellis.messaging.models import OutboxMessage
from trellis.scheduling.kinds import AppointmentStatus
from trellis.scheduling.models import Appointment, BlockKind, ResourceBlock


class CancelCohortTests(GroupsTestCase):
    def full_cohort(self):
        cohort = self.cohort(capacity=2)
        members = self.patients(3)
        for patient in members:
            patient.email = f"{patient.given_name.lower()}@example.org"
            patient.save(update_fields=["email"])
            services.enrol(self.actor(), cohort, patient)
        return cohort, members

    def test_it_frees_the_room_cancels_the_appointments_and_ends_every_place(self):
        cohort, members = self.full_cohort()
        done = services.cancel_cohort(self.actor(self.admin), cohort, "Facilitator on leave")
        self.assertEqual((done.sessions, done.members, done.waitlisted), (8, 2, 1))
        cohort.refresh_from_db()
        self.assertIsNotNone(cohort.cancelled_at)
        self.assertEqual(cohort.cancelled_reason, "Facilitator on leave")
        self.assertFalse(ResourceBlock.objects.filter(kind=BlockKind.GROUP).exists())
        self.assertFalse(cohort.meetings.filter(room_block__isnull=False).exists())
        self.assertEqual(
            set(Appointment.objects.filter(patient__in=members).values_list("status", flat=True)),
            {AppointmentStatus.CANCELLED},
        )
        places = Enrolment.objects.filter(cohort=cohort)
        self.assertEqual({e.status for e in places}, {EnrolmentStatus.WITHDRAWN})
        self.assertTrue(all(e.withdrawn_reason.startswith("Cohort cancelled") for e in places))
        told = OutboxMessage.objects.filter(purpose="group_cancelled")
        self.assertEqual(set(told.values_list("patient", flat=True)), {p.pk for p in members})
        self.assertTrue(
            AuditEvent.objects.filter(object_id=str(cohort.pk), detail__status="cancelled").exists()
        )

    def test_it_keeps_sessions_held_and_refuses_a_second_time(self):
        start = self.clinic_a.today() - timedelta(days=7)
        cohort = self.cohort(start, now=datetime.combine(start, time(8), self.clinic_a.tzinfo))
        done = services.cancel_cohort(self.actor(self.admin), cohort, "Too few members")
        self.assertEqual(done.sessions, 7)
        # The session of last week keeps its room hold: it is history.
        self.assertEqual(ResourceBlock.objects.filter(kind=BlockKind.GROUP).count(), 1)
        with self.assertRaises(Conflict):
            services.cancel_cohort(self.actor(self.admin), cohort, "Again")

    def test_a_reason_is_required_and_only_planners_cancel(self):
        cohort = self.cohort()
        with self.assertRaises(InputError) as error:
            services.cancel_cohort(self.actor(self.admin), cohort, "  ")
        self.assertEqual(error.exception.field, "reason")
        self.sign_in(self.front_desk)
        self.assertEqual(self.client.get(f"/groups/cohorts/{cohort.id}/cancel/").status_code, 403)
        self.assertIsNone(Cohort.objects.get(pk=cohort.pk).cancelled_at)

    def test_the_page_confirms_with_counts_then_cancels_and_the_public_page_drops_it(self):
        cohort, members = self.full_cohort()
        public = f"/request/{self.clinic_a.slug}/groups/"
        self.assertContains(self.client.get(public), "Integration group, 8 weeks")
        self.sign_in(self.admin)
        page = self.client.get(f"/groups/cohorts/{cohort.id}/")
        self.assertContains(page, f"/groups/cohorts/{cohort.id}/cancel/")
        confirm = self.client.get(f"/groups/cohorts/{cohort.id}/cancel/")
        self.assertContains(confirm, "<strong>8 sessions</strong>", html=False)
        self.assertContains(confirm, "<strong>2 members</strong>", html=False)
        self.assertContains(confirm, "<strong>1 on the waitlist</strong>", html=False)
        blank = self.client.post(f"/groups/cohorts/{cohort.id}/cancel/", {"reason": ""})
        self.assertContains(blank, "This field is required", status_code=422)
        self.assertIsNone(Cohort.objects.get(pk=cohort.pk).cancelled_at)
        response = self.client.post(
            f"/groups/cohorts/{cohort.id}/cancel/", {"reason": "Facilitator on leave"}
        )
        self.assertRedirects(response, f"/groups/cohorts/{cohort.id}/")
        page = self.client.get(f"/groups/cohorts/{cohort.id}/")
        self.assertContains(page, "Facilitator on leave")
        self.assertNotContains(page, f"/groups/cohorts/{cohort.id}/cancel/")
        chart = self.client.get(f"/patients/{members[0].id}/")
        self.assertContains(chart, "Cohort cancelled")
        self.client.logout()
        self.assertNotContains(self.client.get(public), "Integration group, 8 weeks")
