import re

from django.core import mail
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from trellis.accounts import staff
from trellis.accounts.models import ApiToken, Membership, User
from trellis.accounts.permissions import Role
from trellis.accounts.services import issue_token
from trellis.audit import naming
from trellis.audit.models import Action, AuditEvent
from trellis.lib.errors import Conflict, InputError
from trellis.testing import PASSWORD, TrellisTestCase, actor_for, make_staff

NEW_PASSWORD = "a long new passphrase 42"


def link_in(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0)


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


class StaffPageAccessTests(TrellisTestCase):
    def test_every_role_but_the_administrator_gets_403(self):
        for role, user in self.staff_a.items():
            if role == Role.CLINIC_ADMIN:
                continue
            self.sign_in(user)
            for url in (
                "/accounts/staff/",
                "/accounts/staff/invite/",
                "/accounts/staff/member/nurse/",
            ):
                with self.subTest(role=role, url=url):
                    self.assertEqual(self.client.get(url).status_code, 403)
            response = self.client.post("/accounts/staff/member/nurse/deactivate/", {"reason": "x"})
            self.assertEqual(response.status_code, 403)
            self.assertTrue(Membership.objects.get(user=self.nurse).is_active)

    def test_the_navigation_links_to_staff_for_administrators_only(self):
        self.sign_in(self.admin)
        self.assertContains(self.client.get("/accounts/"), 'href="/accounts/staff/"')
        self.sign_in(self.nurse)
        self.assertNotContains(self.client.get("/accounts/"), 'href="/accounts/staff/"')

    def test_the_list_shows_this_clinics_staff_with_role_state_and_mfa(self):
        TOTPDevice.objects.create(user=self.nurse, name="phone", confirmed=True)
        self.sign_in(self.admin)
        page = self.client.get("/accounts/staff/")
        self.assertContains(page, "Nurse")
        self.assertContains(page, "Front desk")
        self.assertNotContains(page, "prescriber_b")
        self.assertContains(page, "Set up")
        self.assertContains(page, "Not set up")

    def test_the_list_searches_by_name_and_pages(self):
        for i in range(30):
            make_staff(f"extra{i:02}", self.clinic_a, Role.NURSE)
        self.sign_in(self.admin)
        first = self.client.get("/accounts/staff/")
        self.assertContains(first, "Page 1 of 2")
        found = self.client.get("/accounts/staff/", {"q": "Therapist"})
        self.assertContains(found, "/accounts/staff/member/therapist/")
        self.assertNotContains(found, "/accounts/staff/member/nurse/")

    def test_the_list_takes_as_many_queries_for_thirty_members_as_for_six(self):
        self.sign_in(self.admin)
        self.client.get("/accounts/staff/")
        with CaptureQueriesContext(connection) as few:
            self.client.get("/accounts/staff/")
        for i in range(24):
            user = make_staff(f"extra{i:02}", self.clinic_a, Role.NURSE)
            TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        with CaptureQueriesContext(connection) as many:
            page = self.client.get("/accounts/staff/")
        self.assertContains(page, "extra23")
        self.assertEqual(len(many), len(few))

    def test_another_clinics_member_is_not_found(self):
        self.sign_in(self.admin)
        self.assertEqual(self.client.get("/accounts/staff/member/prescriber_b/").status_code, 404)
        response = self.client.post(
            "/accounts/staff/member/prescriber_b/role/", {"role": Role.NURSE}
        )
        self.assertEqual(response.status_code, 404)
        self.assertEqual(Membership.objects.get(user=self.prescriber_b).role, Role.PRESCRIBER)


class InvitationTests(TrellisTestCase):
    def invite(self, **data):
        self.sign_in(self.admin)
        fields = {
            "first_name": "Mira",
            "last_name": "Osei",
            "email": "mira@example.org",
            "username": "mira",
            "role": Role.NURSE,
            **data,
        }
        with self.captureOnCommitCallbacks(execute=True):
            return self.client.post("/accounts/staff/invite/", fields)

    @override_settings(TRELLIS_BASE_URL="https://trellis.example.org")
    def test_an_invitation_sets_a_password_once_then_signs_in_to_mfa_enrolment(self):
        response = self.invite()
        self.assertRedirects(response, "/accounts/staff/member/mira/")
        mira = User.objects.get(username="mira")
        self.assertFalse(mira.has_usable_password())
        self.assertEqual(Membership.objects.get(user=mira).role, Role.NURSE)
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(mail.outbox[0].to, ["mira@example.org"])
        self.assertEqual(mail.outbox[0].subject, "Your Trellis account at Alpha Clinic")
        url = link_in(mail.outbox[0])
        self.assertTrue(url.startswith("https://trellis.example.org/accounts/welcome/"))

        self.client.logout()
        form = self.client.get(path_of(url), follow=True)
        self.assertContains(form, "Welcome to Trellis")
        set_url = form.redirect_chain[-1][0]
        done = self.client.post(
            set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        )
        self.assertRedirects(done, "/accounts/welcome/done/")
        mira.refresh_from_db()
        self.assertTrue(mira.check_password(NEW_PASSWORD))

        again = self.client.get(path_of(url), follow=True)
        self.assertContains(again, "This link no longer works")

        signed_in = self.client.post(
            "/accounts/login/", {"username": "mira", "password": NEW_PASSWORD}
        )
        self.assertRedirects(signed_in, "/", fetch_redirect_response=False)
        self.assertTrue(self.client.get("/patients/").url.startswith("/accounts/mfa/"))

    def test_the_invitation_is_audited_as_a_new_account(self):
        self.invite()
        event = AuditEvent.objects.get(object_type="accounts.user", action=Action.CREATE)
        self.assertEqual(event.user, self.admin)
        self.assertEqual(event.clinic, self.clinic_a)
        self.assertEqual(event.object_id, str(User.objects.get(username="mira").pk))
        self.assertEqual(event.detail["change"], "invited")
        self.assertEqual(event.detail["role"], Role.NURSE)
        names = naming.record_names([event], self.clinic_a.tzinfo)
        self.assertEqual(names["accounts.user", event.object_id], "Staff account of Mira Osei")

    def test_an_existing_account_with_the_address_is_given_the_role_here(self):
        self.prescriber_b.email = "pb@example.org"
        self.prescriber_b.save()
        response = self.invite(email="PB@example.org", username="ignored")
        self.assertRedirects(response, "/accounts/staff/member/prescriber_b/")
        self.assertEqual(
            Membership.objects.get(user=self.prescriber_b, clinic=self.clinic_a).role, Role.NURSE
        )
        self.assertFalse(User.objects.filter(username="ignored").exists())
        self.assertNotIn("/welcome/", mail.outbox[0].body)
        self.assertIn("Sign in", mail.outbox[0].body)

    def test_an_address_already_on_this_clinics_staff_is_refused_on_the_email_field(self):
        self.nurse.email = "nurse@example.org"
        self.nurse.save()
        response = self.invite(email="nurse@example.org")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(
            response.context["form"].errors["email"],
            ["nurse@example.org is already on the staff of Alpha Clinic"],
        )
        self.assertEqual(mail.outbox, [])

    def test_a_taken_username_is_refused_on_the_username_field(self):
        response = self.invite(username="Nurse")
        self.assertEqual(response.status_code, 400)
        self.assertIn("'Nurse' is taken", response.context["form"].errors["username"][0])
        self.assertFalse(User.objects.filter(email="mira@example.org").exists())

    def test_bad_input_names_the_field(self):
        response = self.invite(email="not an address", role="", username="has space")
        errors = response.context["form"].errors
        self.assertEqual(set(errors), {"email", "role", "username"})
        self.assertContains(response, "Enter a valid email address", status_code=400)

    def test_the_invitation_can_be_sent_again_until_a_password_is_chosen(self):
        self.invite()
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post("/accounts/staff/member/mira/resend/")
        self.assertRedirects(response, "/accounts/staff/member/mira/")
        self.assertEqual(len(mail.outbox), 2)
        mira = User.objects.get(username="mira")
        mira.set_password(NEW_PASSWORD)
        mira.save()
        response = self.client.post("/accounts/staff/member/mira/resend/")
        self.assertContains(response, "already set a password", status_code=409)


class RoleTests(TrellisTestCase):
    def setUp(self):
        self.actor = actor_for(self.admin, self.clinic_a)

    def test_the_administrator_changes_a_role_with_an_audited_reason(self):
        self.sign_in(self.admin)
        response = self.client.post(
            "/accounts/staff/member/nurse/role/", {"role": Role.PRESCRIBER, "reason": "Licensed"}
        )
        self.assertRedirects(response, "/accounts/staff/member/nurse/")
        self.assertEqual(Membership.objects.get(user=self.nurse).role, Role.PRESCRIBER)
        event = AuditEvent.objects.get(object_type="accounts.user", object_id=str(self.nurse.pk))
        self.assertEqual(event.action, Action.UPDATE)
        self.assertEqual(event.user, self.admin)
        self.assertEqual(
            event.detail,
            {"change": "role_changed", "from": "nurse", "to": "prescriber", "reason": "Licensed"},
        )

    def test_a_role_outside_the_list_is_refused_on_the_role_field(self):
        self.sign_in(self.admin)
        response = self.client.post("/accounts/staff/member/nurse/role/", {"role": "owner"})
        self.assertEqual(response.status_code, 400)
        self.assertIn("role", response.context["role_form"].errors)
        with self.assertRaises(InputError) as raised:
            staff.change_role(self.actor, self.nurse, "owner")
        self.assertEqual(raised.exception.field, "role")

    def test_the_last_administrator_cannot_give_up_the_role_or_be_deactivated(self):
        self.sign_in(self.admin)
        response = self.client.post("/accounts/staff/member/admin/role/", {"role": Role.NURSE})
        self.assertContains(response, "at least one active administrator", status_code=409)
        response = self.client.post("/accounts/staff/member/admin/deactivate/", {})
        self.assertEqual(response.status_code, 409)
        membership = Membership.objects.get(user=self.admin)
        self.assertEqual((membership.role, membership.is_active), (Role.CLINIC_ADMIN, True))
        self.assertFalse(AuditEvent.objects.filter(object_type="accounts.user").exists())

    def test_with_a_second_administrator_the_first_may_step_down(self):
        staff.change_role(self.actor, self.prescriber, Role.CLINIC_ADMIN)
        staff.change_role(self.actor, self.admin, Role.NURSE)
        self.assertEqual(Membership.objects.get(user=self.admin).role, Role.NURSE)

    def test_a_deactivated_administrator_does_not_count(self):
        staff.change_role(self.actor, self.prescriber, Role.CLINIC_ADMIN)
        staff.deactivate(self.actor, self.prescriber)
        with self.assertRaises(Conflict):
            staff.change_role(self.actor, self.admin, Role.NURSE)

    def test_a_change_at_one_clinic_leaves_the_other_alone(self):
        Membership.objects.create(user=self.nurse, clinic=self.clinic_b, role=Role.NURSE)
        staff.change_role(self.actor, self.nurse, Role.THERAPIST)
        staff.deactivate(self.actor, self.nurse)
        other = Membership.objects.get(user=self.nurse, clinic=self.clinic_b)
        self.assertEqual((other.role, other.is_active), (Role.NURSE, True))
        self.nurse.refresh_from_db()
        self.assertTrue(self.nurse.is_active)  # still works at clinic B


class DeactivationTests(TrellisTestCase):
    def test_a_deactivated_member_cannot_sign_in_nor_use_a_token(self):
        _, token = issue_token(self.nurse, self.clinic_a)
        auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        self.assertEqual(self.client.get("/api/v1/patients", **auth).status_code, 200)
        self.sign_in(self.admin)
        response = self.client.post(
            "/accounts/staff/member/nurse/deactivate/", {"reason": "Left the clinic"}
        )
        self.assertRedirects(response, "/accounts/staff/member/nurse/")
        self.client.logout()
        self.assertEqual(self.client.get("/api/v1/patients", **auth).status_code, 401)
        login = self.client.post("/accounts/login/", {"username": "nurse", "password": PASSWORD})
        self.assertEqual(login.status_code, 200)
        self.assertNotIn("_auth_user_id", self.client.session)
        self.assertTrue(Membership.objects.filter(user=self.nurse).exists())  # never deleted
        self.assertTrue(ApiToken.objects.filter(user=self.nurse).exists())
        event = AuditEvent.objects.get(object_type="accounts.user", detail__change="deactivated")
        self.assertEqual(event.detail["reason"], "Left the clinic")

    def test_a_deactivated_members_open_session_ends(self):
        nurse_client = self.client_class()
        nurse_client.force_login(self.nurse)
        staff.deactivate(actor_for(self.admin, self.clinic_a), self.nurse)
        self.assertRedirects(
            nurse_client.get("/patients/"),
            "/accounts/login/?next=/patients/",
            fetch_redirect_response=False,
        )

    def test_reactivation_lets_them_sign_in_again_and_is_audited(self):
        actor = actor_for(self.admin, self.clinic_a)
        staff.deactivate(actor, self.nurse)
        self.sign_in(self.admin)
        response = self.client.post("/accounts/staff/member/nurse/reactivate/", {"reason": "Back"})
        self.assertRedirects(response, "/accounts/staff/member/nurse/")
        self.client.logout()
        login = self.client.post("/accounts/login/", {"username": "nurse", "password": PASSWORD})
        self.assertEqual(login.status_code, 302)
        changes = list(
            AuditEvent.objects.filter(object_type="accounts.user")
            .order_by("seq")
            .values_list("detail__change", flat=True)
        )
        self.assertEqual(changes, ["deactivated", "reactivated"])


class MfaResetTests(TrellisTestCase):
    def test_a_reason_is_required(self):
        TOTPDevice.objects.create(user=self.nurse, name="phone", confirmed=True)
        self.sign_in(self.admin)
        response = self.client.post("/accounts/staff/member/nurse/mfa/", {"reason": "  "})
        self.assertEqual(response.status_code, 400)
        self.assertIn("reason", response.context["mfa_form"].errors)
        self.assertTrue(TOTPDevice.objects.filter(user=self.nurse).exists())
        with self.assertRaises(InputError) as raised:
            staff.reset_mfa(actor_for(self.admin, self.clinic_a), self.nurse, "")
        self.assertEqual(raised.exception.field, "reason")

    def test_it_removes_the_devices_so_they_enrol_again(self):
        self.sign_in(self.nurse)  # a verified session with a device
        nurse_session = self.client.cookies
        admin_client = self.client_class()
        admin_client.force_login(self.admin)
        device = TOTPDevice.objects.create(user=self.admin, name="a", confirmed=True)
        session = admin_client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        response = admin_client.post("/accounts/staff/member/nurse/mfa/", {"reason": "Lost phone"})
        self.assertRedirects(response, "/accounts/staff/member/nurse/")
        self.assertFalse(TOTPDevice.objects.filter(user=self.nurse).exists())
        self.client.cookies = nurse_session
        self.assertTrue(self.client.get("/patients/").url.startswith("/accounts/mfa/"))
        event = AuditEvent.objects.get(object_type="accounts.user", detail__change="mfa_reset")
        self.assertEqual(
            event.detail, {"change": "mfa_reset", "devices_removed": 1, "reason": "Lost phone"}
        )
        self.assertEqual(event.user, self.admin)
