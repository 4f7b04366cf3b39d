from django.core.exceptions import ValidationError

from trellis.accounts import clinic_settings, services
from trellis.audit.models import Action, AuditEvent
from trellis.testing import TrellisTestCase, actor_for

VALID = {
    "name": "Alpha Clinic",
    "timezone": "America/Denver",
    "address": "1 Main St",
    "phone": "",
    "country": "US",
    "subdivision": "",
    "setting_idle_logoff_minutes": "10",
}


class ClinicSettingsTests(TrellisTestCase):
    def test_the_administrator_changes_the_idle_time_and_timezone(self):
        self.sign_in(self.admin)
        response = self.client.post("/accounts/clinic/settings/", VALID)
        self.assertRedirects(response, "/accounts/clinic/settings/")
        self.clinic_a.refresh_from_db()
        self.assertEqual(self.clinic_a.settings, {"idle_logoff_minutes": 10})
        self.assertEqual(self.clinic_a.timezone, "America/Denver")
        event = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual((event.action, event.object_type), (Action.UPDATE, "accounts.clinic"))

    def test_the_administrator_sets_where_the_clinic_is_for_its_public_holidays(self):
        self.sign_in(self.admin)
        response = self.client.post(
            "/accounts/clinic/settings/", {**VALID, "country": "us", "subdivision": "ny "}
        )
        self.assertRedirects(response, "/accounts/clinic/settings/")
        self.clinic_a.refresh_from_db()
        self.assertEqual((self.clinic_a.country, self.clinic_a.subdivision), ("US", "NY"))
        self.assertContains(self.client.get("/accounts/clinic/settings/"), "State or province")

    def test_a_value_back_at_its_default_is_not_stored_as_an_override(self):
        self.sign_in(self.admin)
        self.client.post(
            "/accounts/clinic/settings/", {**VALID, "setting_idle_logoff_minutes": "15"}
        )
        self.clinic_a.refresh_from_db()
        self.assertEqual(self.clinic_a.settings, {})

    def test_out_of_range_values_are_refused_by_name(self):
        self.sign_in(self.admin)
        for field, value, message in [
            ("setting_idle_logoff_minutes", "0", "greater than or equal to 2"),
            ("setting_idle_logoff_minutes", "500", "less than or equal to 120"),
            ("timezone", "Mars/Olympus", "is not an IANA timezone"),
            ("name", "", "This field is required"),
            ("country", "XX", "is not a country code with a public-holiday calendar"),
            ("subdivision", "ZZ", "is not a state or province of US"),
        ]:
            with self.subTest(field=field, value=value):
                response = self.client.post("/accounts/clinic/settings/", {**VALID, field: value})
                self.assertEqual(response.status_code, 200)
                self.assertIn(message, " ".join(response.context["form"].errors[field]))
                self.clinic_a.refresh_from_db()
                self.assertEqual(
                    (self.clinic_a.settings, self.clinic_a.timezone), ({}, "America/New_York")
                )

    def test_other_roles_may_not_change_clinic_settings(self):
        for user in (self.prescriber, self.front_desk):
            with self.subTest(user=user.username):
                self.sign_in(user)
                self.assertEqual(self.client.get("/accounts/clinic/settings/").status_code, 403)
                self.assertEqual(
                    self.client.post("/accounts/clinic/settings/", VALID).status_code, 403
                )


class UpdateClinicServiceTests(TrellisTestCase):
    """The service takes the clinic's details and settings as plain values, not a form."""

    def setUp(self) -> None:
        self.actor = actor_for(self.admin, self.clinic_a)

    def test_it_saves_plain_values_and_audits_what_changed(self):
        self.clinic_a.settings = {"idle_logoff_minutes": 10}
        self.clinic_a.save()
        clinic = services.update_clinic(
            self.actor,
            {"timezone": "America/Denver", "country": "US"},
            {"idle_logoff_minutes": None},
        )
        clinic.refresh_from_db()
        self.assertEqual((clinic.timezone, clinic.settings), ("America/Denver", {}))
        event = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual(
            (event.action, event.detail["changed"]),
            (Action.UPDATE, ["setting_idle_logoff_minutes", "timezone"]),
        )

    def test_a_setting_left_out_keeps_its_value_and_a_default_is_not_stored(self):
        self.clinic_a.settings = {"idle_logoff_minutes": 10}
        self.clinic_a.save()
        default = clinic_settings.DEFINITIONS["idle_logoff_minutes"].default
        services.update_clinic(self.actor, {"name": "Alpha"}, {})
        self.clinic_a.refresh_from_db()
        self.assertEqual(self.clinic_a.settings, {"idle_logoff_minutes": 10})
        services.update_clinic(self.actor, {}, {"idle_logoff_minutes": default})
        self.clinic_a.refresh_from_db()
        self.assertEqual(self.clinic_a.settings, {})

    def test_bad_values_are_refused_by_name_and_nothing_is_saved(self):
        for details, settings, field in [
            ({"timezone": "Mars/Olympus"}, {}, "timezone"),
            ({"subdivision": "ZZ"}, {}, "subdivision"),
            ({}, {"idle_logoff_minutes": 0}, "settings"),
        ]:
            with self.subTest(field=field):
                with self.assertRaises(ValidationError) as raised:
                    services.update_clinic(self.actor, details, settings)
                self.assertIn(field, raised.exception.message_dict)
                self.clinic_a.refresh_from_db()
                self.assertEqual(
                    (self.clinic_a.timezone, self.clinic_a.subdivision, self.clinic_a.settings),
                    ("America/New_York", "", {}),
                )
        with self.assertRaises(ValueError):
            services.update_clinic(self.actor, {"mrn_prefix": "X"}, {})
