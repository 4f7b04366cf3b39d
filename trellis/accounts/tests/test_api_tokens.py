import io
import json

from django.core.management import call_command
from django.core.management.base import CommandError

from trellis.accounts.models import ApiToken, Membership
from trellis.accounts.permissions import Role
from trellis.testing import TrellisTestCase


def issue(username: str, *args: str) -> str:
    out = io.StringIO()
    call_command("issue_token", username, *args, stdout=out)
    return out.getvalue().strip()


class IssueTokenTests(TrellisTestCase):
    def test_it_prints_a_token_and_stores_only_its_hash(self):
        token = issue("prescriber", "--name", "lab import")
        self.assertTrue(token.startswith("trl_"))
        row = ApiToken.objects.get(user=self.prescriber)
        self.assertNotEqual(row.key_hash, token)
        self.assertNotIn(token, json.dumps(list(ApiToken.objects.values()), default=str))
        self.assertEqual(
            (row.name, row.clinic, row.hint), ("lab import", self.clinic_a, token[:10])
        )

    def test_a_user_at_several_clinics_must_choose_one(self):
        Membership.objects.create(user=self.prescriber, clinic=self.clinic_b, role=Role.NURSE)
        with self.assertRaisesRegex(CommandError, "choose with --clinic"):
            issue("prescriber")
        issue("prescriber", "--clinic", "beta")
        self.assertEqual(ApiToken.objects.get(user=self.prescriber).clinic, self.clinic_b)

    def test_unknown_users_are_refused(self):
        with self.assertRaisesRegex(CommandError, "No active user 'ghost'"):
            issue("ghost")

    def test_tokens_are_listed_and_revoked_by_command(self):
        issue("nurse", "--name", "pump sync")
        row = ApiToken.objects.get(user=self.nurse)
        out = io.StringIO()
        call_command("list_tokens", "nurse", stdout=out)
        self.assertIn("pump sync", out.getvalue())
        self.assertIn("active", out.getvalue())
        call_command("revoke_token", str(row.id), stdout=io.StringIO())
        row.refresh_from_db()
        self.assertIsNotNone(row.revoked_at)


class BearerAuthTests(TrellisTestCase):
    def get(self, path: str, token: str | None = None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        return self.client.get(path, **headers)

    def test_a_token_acts_as_its_user_at_its_clinic(self):
        token = issue("nurse")
        response = self.get("/api/v1/me", token)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["role"], "nurse")
        self.assertEqual(response.json()["clinic_id"], str(self.clinic_a.pk))

    def test_no_token_is_a_json_401(self):
        response = self.get("/api/v1/me")
        self.assertEqual(response.status_code, 401)
        self.assertIn("Bearer", response.json()["detail"])
        self.assertEqual(response["WWW-Authenticate"], "Bearer")

    def test_a_wrong_token_is_a_json_401(self):
        self.assertEqual(self.get("/api/v1/me", "trl_not-a-real-token").status_code, 401)

    def test_a_revoked_token_is_refused(self):
        token = issue("nurse")
        call_command("revoke_token", str(ApiToken.objects.get().id), stdout=io.StringIO())
        self.assertEqual(self.get("/api/v1/me", token).status_code, 401)

    def test_a_token_of_a_deactivated_user_is_refused(self):
        token = issue("nurse")
        self.nurse.is_active = False
        self.nurse.save(update_fields=["is_active"])
        self.assertEqual(self.get("/api/v1/me", token).status_code, 401)

    def test_a_token_stops_working_when_the_role_ends(self):
        token = issue("nurse")
        Membership.objects.filter(user=self.nurse).update(is_active=False)
        self.assertEqual(self.get("/api/v1/me", token).status_code, 401)

    def test_the_owner_sees_and_revokes_tokens_on_the_account_page(self):
        issue("nurse", "--name", "pump sync")
        row = ApiToken.objects.get()
        self.sign_in(self.nurse)
        self.assertContains(self.client.get("/accounts/"), "pump sync")
        response = self.client.post(f"/accounts/tokens/{row.id}/revoke/")
        self.assertRedirects(response, "/accounts/", fetch_redirect_response=False)
        row.refresh_from_db()
        self.assertIsNotNone(row.revoked_at)

    def test_nobody_revokes_another_persons_token(self):
        issue("nurse")
        row = ApiToken.objects.get()
        self.sign_in(self.prescriber)
        self.assertEqual(self.client.post(f"/accounts/tokens/{row.id}/revoke/").status_code, 404)
        row.refresh_from_db()
        self.assertIsNone(row.revoked_at)


class ApiBaseTests(TrellisTestCase):
    def test_healthz_reports_the_database(self):
        response = self.client.get("/healthz")
        self.assertEqual(response.json(), {"status": "ok", "database": "ok"})

    def test_the_openapi_document_is_served(self):
        spec = self.client.get("/api/v1/openapi.json").json()
        self.assertEqual(spec["info"]["title"], "Trellis API")
        self.assertIn("/api/v1/me", spec["paths"])
        self.assertIn("BearerToken", spec["components"]["securitySchemes"])

    def test_unknown_api_paths_are_json_404(self):
        token = issue("nurse")
        response = self.client.get("/api/v1/nothing-here", HTTP_AUTHORIZATION=f"Bearer {token}")
        self.assertEqual(response.status_code, 404)
