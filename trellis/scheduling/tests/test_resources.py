"""The clinic's resources in the product: the administrator's list, adding and editing a chair,
room or TMS device with its hours, taking it out of use, blocking it for a closure or
maintenance (which lists the appointments it covers) and removing a block."""

from datetime import time, timedelta

from django.utils import timezone

from trellis.accounts.permissions import Role
from trellis.audit.models import Action, AuditEvent
from trellis.lib.errors import Conflict, InputError
from trellis.scheduling import resource_selectors, resource_services, services
from trellis.scheduling.kinds import AppointmentStatus, ResourceKind
from trellis.scheduling.models import Appointment, BlockKind, OpeningHours, Resource, ResourceBlock
from trellis.scheduling.tests.base import SchedulingTestCase, add_resource
from trellis.testing import actor_for

WEEKDAYS = {f"hours_{d}": "08:00–18:00" for d in range(5)}
CLOSED_WEEKEND = {"hours_5": "", "hours_6": ""}


def resource_form(**values) -> dict:
    data = {"kind": "chair", "name": "Chair 9", "ordering": "5", **WEEKDAYS, **CLOSED_WEEKEND}
    data.update(values)
    return data


class ResourceServiceTests(SchedulingTestCase):
    def admin_actor(self):
        return actor_for(self.admin, self.clinic_a)

    def test_a_resource_is_created_with_its_hours_and_audited(self):
        resource = resource_services.create_resource(
            self.admin_actor(),
            kind=ResourceKind.TMS_DEVICE,
            name="  Horizon ",
            make="Magstim",
            model="Horizon Performance",
            coil="E-z Cool",
            ordering=9,
            hours={0: [(time(13), time(18)), (time(8), time(12))], 5: [(time(9), time(13))]},
        )
        self.assertEqual(resource.name, "Horizon")
        self.assertEqual(resource.clinic, self.clinic_a)
        self.assertEqual(
            list(resource.opening_hours.values_list("weekday", "opens", "closes")),
            [(0, time(8), time(12)), (0, time(13), time(18)), (5, time(9), time(13))],
        )
        event = AuditEvent.objects.get(action=Action.CREATE, object_id=str(resource.pk))
        self.assertEqual(event.object_type, "scheduling.resource")
        self.assertEqual(event.user, self.admin)
        self.assertEqual(event.detail["hours"], "Mon 08:00–12:00, 13:00–18:00; Sat 09:00–13:00")

    def test_a_chair_or_room_has_no_make_model_or_coil(self):
        resource = resource_services.create_resource(
            self.admin_actor(), kind=ResourceKind.ROOM, name="Room 9", make="Acme", coil="x"
        )
        self.assertEqual((resource.make, resource.model, resource.coil), ("", "", ""))

    def test_only_an_administrator_changes_resources(self):
        for role, user in self.staff_a.items():
            if role == Role.CLINIC_ADMIN:
                continue
            with self.subTest(role=role), self.assertRaises(Exception) as caught:
                resource_services.create_resource(
                    actor_for(user, self.clinic_a), kind=ResourceKind.CHAIR, name="X"
                )
            self.assertEqual(type(caught.exception).__name__, "PermissionDenied")
        self.assertFalse(Resource.objects.filter(name="X").exists())

    def test_bad_input_names_the_field_and_writes_nothing(self):
        cases = [
            ({"kind": "sofa"}, "kind", "must be a chair, a room or a TMS device"),
            ({"name": "  "}, "name", "is required"),
            ({"name": "chair 1"}, "name", "is already used by another resource here"),
            ({"ordering": 1000}, "ordering", "must be a whole number from 0 to 999"),
            ({"hours": {1: [(time(12), time(9))]}}, "hours.1", "Tuesday: 12:00–09:00 closes"),
        ]
        for change, field, message in cases:
            values = {"kind": ResourceKind.CHAIR, "name": "Chair 9", **change}
            with self.subTest(field=field), self.assertRaises(InputError) as caught:
                resource_services.create_resource(self.admin_actor(), **values)
            self.assertEqual(caught.exception.field, field)
            self.assertIn(message, caught.exception.message)
        self.assertEqual(Resource.objects.filter(clinic=self.clinic_a).count(), 4)

    def test_an_update_replaces_the_hours_and_audits_what_changed(self):
        changed = resource_services.update_resource(
            self.admin_actor(),
            self.chair,
            kind=ResourceKind.CHAIR,
            name="Chair 1 (window)",
            ordering=1,
            hours={d: [(time(9), time(17))] for d in range(5)},
        )
        self.assertEqual(changed, ["name", "hours"])
        self.assertEqual(
            set(self.chair.opening_hours.values_list("opens", "closes")), {(time(9), time(17))}
        )
        event = AuditEvent.objects.get(action=Action.UPDATE, object_id=str(self.chair.pk))
        self.assertEqual(event.detail["name"], {"from": "Chair 1", "to": "Chair 1 (window)"})
        self.assertEqual(
            event.detail["hours"], {"from": "Mon–Sun 08:00–18:00", "to": "Mon–Fri 09:00–17:00"}
        )

    def test_an_update_that_changes_nothing_writes_nothing(self):
        before = AuditEvent.objects.count()
        changed = resource_services.update_resource(
            self.admin_actor(),
            self.chair,
            kind=ResourceKind.CHAIR,
            name="Chair 1",
            ordering=1,
            hours={d: [(time(8), time(18))] for d in range(7)},
        )
        self.assertEqual(changed, [])
        self.assertEqual(AuditEvent.objects.count(), before)

    def test_taking_a_resource_out_of_use_keeps_its_appointments_and_refuses_new_ones(self):
        booked = self.book(resource=self.chair)
        resource_services.update_resource(
            self.admin_actor(),
            self.chair,
            kind=ResourceKind.CHAIR,
            name="Chair 1",
            ordering=1,
            is_active=False,
            hours={d: [(time(8), time(18))] for d in range(7)},
        )
        self.chair.refresh_from_db()
        self.assertFalse(self.chair.is_active)
        booked.refresh_from_db()
        self.assertEqual(booked.resource, self.chair)
        self.assertEqual(booked.status, AppointmentStatus.BOOKED)
        with self.assertRaises(services.ResourceUnavailable):
            self.book(resource=self.chair, start=self.at(14), patient=self.other_patient)

    def test_the_kind_stays_while_appointments_are_booked_on_it(self):
        self.book(resource=self.chair)
        with self.assertRaises(InputError) as caught:
            resource_services.update_resource(
                self.admin_actor(), self.chair, kind=ResourceKind.ROOM, name="Chair 1", ordering=1
            )
        self.assertEqual(caught.exception.field, "kind")
        self.assertIn("1 upcoming appointment is booked on it", caught.exception.message)
        self.chair.refresh_from_db()
        self.assertEqual(self.chair.kind, ResourceKind.CHAIR)

    def test_a_block_that_covers_appointments_lists_them_until_confirmed(self):
        booked = self.book(resource=self.chair)
        actor = self.admin_actor()
        values = {"kind": BlockKind.CLOSURE, "start": self.at(8), "end": self.at(12)}
        with self.assertRaises(resource_services.BlockClashes) as caught:
            resource_services.add_block(actor, self.chair, **values)
        self.assertEqual(caught.exception.appointments, [booked])
        self.assertFalse(ResourceBlock.objects.exists())
        block = resource_services.add_block(actor, self.chair, **values, confirmed=[booked.pk])
        booked.refresh_from_db()
        self.assertEqual(booked.status, AppointmentStatus.BOOKED)
        event = AuditEvent.objects.get(action=Action.CREATE, object_id=str(block.pk))
        self.assertEqual(event.detail["appointments_covered"], [str(booked.pk)])
        self.assertEqual(block.created_by, self.admin)

    def test_a_block_ending_in_the_past_or_before_its_start_is_refused_by_field(self):
        actor = self.admin_actor()
        now = timezone.now()
        cases = [
            (self.at(12), self.at(8), "end", "must be after the start"),
            (now - timedelta(hours=3), now - timedelta(hours=1), "end", "is in the past"),
            (self.at(8), self.at(8) + timedelta(days=400), "end", "within 366 days"),
        ]
        for start, end, field, message in cases:
            with self.subTest(message=message), self.assertRaises(InputError) as caught:
                resource_services.add_block(
                    actor, self.chair, kind=BlockKind.MAINTENANCE, start=start, end=end
                )
            self.assertEqual(caught.exception.field, field)
            self.assertIn(message, caught.exception.message)

    def test_a_future_block_is_removed_and_an_ended_one_kept(self):
        actor = self.admin_actor()
        block = resource_services.add_block(
            actor, self.device, kind=BlockKind.MAINTENANCE, start=self.at(8), end=self.at(10)
        )
        resource_services.remove_block(actor, block)
        self.assertFalse(ResourceBlock.objects.filter(pk=block.pk).exists())
        event = AuditEvent.objects.get(action=Action.DELETE, object_id=str(block.pk))
        self.assertEqual(event.detail["kind"], "maintenance")
        ended = ResourceBlock.objects.create(
            resource=self.device,
            kind=BlockKind.CLOSURE,
            start=timezone.now() - timedelta(days=2),
            end=timezone.now() - timedelta(days=1),
        )
        with self.assertRaises(Conflict):
            resource_services.remove_block(actor, ended)
        self.assertTrue(ResourceBlock.objects.filter(pk=ended.pk).exists())

    def test_the_overview_groups_by_kind_in_three_queries(self):
        add_resource(self.clinic_a, "Old chair", ResourceKind.CHAIR, is_active=False)
        ResourceBlock.objects.create(
            resource=self.device, kind=BlockKind.MAINTENANCE, start=self.at(8), end=self.at(10)
        )
        with self.assertNumQueries(3):
            groups = resource_selectors.overview(self.clinic_a)
        self.assertEqual([g.kind for g in groups], ["chair", "room", "tms_device"])
        chairs = groups[0].resources
        self.assertEqual([r.name for r in chairs], ["Chair 1", "Chair 2", "Old chair"])
        self.assertEqual(chairs[0].hours_words, "Mon–Sun 08:00–18:00")
        self.assertEqual(len(groups[2].resources[0].upcoming_blocks), 1)


class ResourcePageTests(SchedulingTestCase):
    def urls(self, resource=None, block=None):
        resource = resource or self.chair
        block_id = block.pk if block else "00000000-0000-0000-0000-000000000000"
        return [
            ("get", "/calendar/resources/"),
            ("get", "/calendar/resources/new/"),
            ("get", f"/calendar/resources/{resource.pk}/"),
            ("get", f"/calendar/resources/{resource.pk}/blocks/new/"),
            ("post", f"/calendar/resources/{resource.pk}/blocks/{block_id}/remove/"),
        ]

    def test_only_administrators_reach_the_pages(self):
        for role, user in self.staff_a.items():
            self.sign_in(user)
            for method, url in self.urls():
                if role == Role.CLINIC_ADMIN and method == "post":
                    continue
                with self.subTest(role=role, url=url):
                    response = getattr(self.client, method)(url)
                    expected = 200 if role == Role.CLINIC_ADMIN else 403
                    self.assertEqual(response.status_code, expected)

    def test_another_clinics_resource_is_not_found(self):
        other = add_resource(self.clinic_b, "Beta chair", ResourceKind.CHAIR)
        block = ResourceBlock.objects.create(
            resource=other, kind=BlockKind.CLOSURE, start=self.at(8), end=self.at(9)
        )
        self.sign_in(self.admin)
        for method, url in self.urls(other, block)[2:]:
            with self.subTest(url=url):
                self.assertEqual(getattr(self.client, method)(url).status_code, 404)
        response = self.client.post(f"/calendar/resources/{other.pk}/", resource_form())
        self.assertEqual(response.status_code, 404)
        self.assertTrue(ResourceBlock.objects.filter(pk=block.pk).exists())

    def test_the_list_shows_hours_in_words_state_and_blocks(self):
        self.chair_2.is_active = False
        self.chair_2.save()
        ResourceBlock.objects.create(
            resource=self.device,
            kind=BlockKind.MAINTENANCE,
            start=self.at(8),
            end=self.at(10),
            note="Coil service",
        )
        self.sign_in(self.admin)
        response = self.client.get("/calendar/resources/")
        self.assertContains(response, "Infusion chairs")
        self.assertContains(response, "TMS devices")
        self.assertContains(response, "Mon–Sun 08:00–18:00")
        self.assertContains(response, "Out of use")
        self.assertContains(response, "Neuronetics · NeuroStar Advanced Therapy · coil Figure-8")
        self.assertContains(response, "Coil service")
        self.assertContains(response, "Add resource")

    def test_adding_a_resource_from_the_form(self):
        self.sign_in(self.admin)
        response = self.client.post(
            "/calendar/resources/new/",
            resource_form(hours_0="08:00-12:00, 13:00-18:00", hours_5="9-13"),
            follow=True,
        )
        self.assertRedirects(response, "/calendar/resources/")
        resource = Resource.objects.get(clinic=self.clinic_a, name="Chair 9")
        self.assertEqual(resource.opening_hours.count(), 7)
        self.assertContains(response, "Infusion chair “Chair 9” added.")
        for line in ("Mon 08:00–12:00, 13:00–18:00", "Tue–Fri 08:00–18:00", "Sat 09:00–13:00"):
            self.assertContains(response, f'<span class="res-hours-line">{line}</span>')

    def test_the_form_names_each_field_that_is_wrong_and_saves_nothing(self):
        self.sign_in(self.admin)
        cases = [
            ({"name": "chair 1"}, "Name is already used by another resource here (“Chair 1”)."),
            ({"hours_2": "08:00–12:00, 11:00–14:00"}, "Wednesday: 08:00–12:00 and 11:00–14:00"),
            ({"hours_3": "17:00–09:00"}, "Thursday: 17:00–09:00 closes before it opens."),
            ({"hours_4": "all day"}, "Friday: “all day” is not a time span such as 08:00–18:00"),
            ({"kind": ""}, "This field is required."),
        ]
        for change, message in cases:
            with self.subTest(message=message):
                response = self.client.post("/calendar/resources/new/", resource_form(**change))
                self.assertEqual(response.status_code, 422)
                self.assertContains(response, message, status_code=422)
                self.assertContains(response, "Nothing was saved", status_code=422)
        self.assertFalse(Resource.objects.filter(name="Chair 9").exists())

    def test_editing_shows_the_hours_and_saves_them(self):
        self.sign_in(self.admin)
        response = self.client.get(f"/calendar/resources/{self.device.pk}/")
        self.assertContains(response, 'value="08:00–18:00"')
        self.assertContains(response, 'value="Figure-8"')
        data = resource_form(
            kind="tms_device",
            name="NeuroStar",
            make="Neuronetics",
            model="NeuroStar Advanced Therapy",
            coil="Figure-8",
            ordering="4",
            is_active="on",
        )
        response = self.client.post(f"/calendar/resources/{self.device.pk}/", data)
        self.assertRedirects(response, "/calendar/resources/")
        self.assertFalse(OpeningHours.objects.filter(resource=self.device, weekday=6).exists())

    def test_taking_out_of_use_says_what_stays_booked(self):
        self.book(resource=self.chair)
        self.sign_in(self.admin)
        data = resource_form(name="Chair 1", ordering="1")  # no is_active: out of use
        response = self.client.post(f"/calendar/resources/{self.chair.pk}/", data, follow=True)
        self.assertContains(response, "1 booked appointment on it stays until front desk")
        self.chair.refresh_from_db()
        self.assertFalse(self.chair.is_active)
        self.assertEqual(Appointment.objects.filter(resource=self.chair).count(), 1)
        # Its column stays on the day view on the days it still has appointments.
        response = self.client.get(f"/calendar/?date={self.monday.isoformat()}")
        self.assertContains(response, "Chair 1<span")

    def block_form(self, **values):
        data = {
            "kind": "closure",
            "start_date": self.monday.isoformat(),
            "start_time": "08:00",
            "end_date": self.monday.isoformat(),
            "end_time": "12:00",
            "note": "Flooring repair",
        }
        data.update(values)
        return data

    def test_a_block_lists_the_appointments_it_covers_and_asks_to_confirm(self):
        booked = self.book(resource=self.chair)
        self.sign_in(self.admin)
        url = f"/calendar/resources/{self.chair.pk}/blocks/new/"
        response = self.client.post(url, self.block_form())
        self.assertEqual(response.status_code, 409)
        self.assertContains(response, "1 booked appointment falls in this time", status_code=409)
        self.assertContains(response, self.patient.full_name, status_code=409)
        self.assertContains(response, f"/calendar/appointments/{booked.pk}/move/", status_code=409)
        self.assertContains(response, "Add the block anyway", status_code=409)
        self.assertFalse(ResourceBlock.objects.exists())
        self.assertContains(response, f'value="{booked.pk}"', status_code=409)
        # An appointment booked since the list was shown is listed again, not covered silently.
        later = self.book(resource=self.chair, start=self.at(11), patient=self.other_patient)
        response = self.client.post(url, self.block_form(confirmed=str(booked.pk)))
        self.assertContains(response, "2 booked appointments fall in this time", status_code=409)
        self.assertFalse(ResourceBlock.objects.exists())
        response = self.client.post(url, self.block_form(confirmed=f"{booked.pk},{later.pk}"))
        self.assertRedirects(response, "/calendar/resources/")
        block = ResourceBlock.objects.get()
        self.assertEqual(block.start, self.at(8))
        self.assertEqual(block.note, "Flooring repair")
        booked.refresh_from_db()
        self.assertEqual(booked.status, AppointmentStatus.BOOKED)

    def test_a_block_form_names_the_wrong_field(self):
        self.sign_in(self.admin)
        url = f"/calendar/resources/{self.chair.pk}/blocks/new/"
        response = self.client.post(url, self.block_form(end_time="07:00"))
        self.assertContains(response, "Until (time) must be after the start.", status_code=422)
        response = self.client.post(url, self.block_form(start_date="tomorrow"))
        self.assertContains(response, "Enter a valid date.", status_code=422)
        self.assertFalse(ResourceBlock.objects.exists())

    def test_removing_a_block_from_the_list(self):
        block = ResourceBlock.objects.create(
            resource=self.chair, kind=BlockKind.CLOSURE, start=self.at(8), end=self.at(9)
        )
        self.sign_in(self.admin)
        response = self.client.post(
            f"/calendar/resources/{self.chair.pk}/blocks/{block.pk}/remove/", follow=True
        )
        self.assertContains(response, "Chair 1 is back in service")
        self.assertFalse(ResourceBlock.objects.exists())

    def test_the_day_view_marks_a_blocked_column_and_links_administrators_here(self):
        ResourceBlock.objects.create(
            resource=self.device, kind=BlockKind.MAINTENANCE, start=self.at(8), end=self.at(10)
        )
        day = f"/calendar/?date={self.monday.isoformat()}"
        self.sign_in(self.admin)
        response = self.client.get(day)
        self.assertContains(response, "cal-col-block")
        self.assertContains(response, ">maintenance</span>")
        self.assertContains(response, 'href="/calendar/resources/"')
        response = self.client.get(f"/calendar/?date={(self.monday + timedelta(1)).isoformat()}")
        self.assertNotContains(response, "cal-col-block")
        self.sign_in(self.front_desk)
        response = self.client.get(day)
        self.assertContains(response, ">maintenance</span>")
        self.assertNotContains(response, 'href="/calendar/resources/"')
