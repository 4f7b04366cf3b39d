"""SMART Backend Services [R137]: registering a system client, the token endpoint's checks of
the signed assertion, and what the token then reads (its scopes, its clinic, audited)."""

import json
import tempfile
import time
import uuid
from datetime import timedelta
from io import StringIO
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from trellis.audit.models import Action, AuditEvent
from trellis.fhir import bulk, smart
from trellis.fhir.models import SystemClient, SystemToken
from trellis.fhir.tests.helpers import FhirTestCase
from trellis.lib.errors import InputError
from trellis.testing import actor_for
from trellis.therapy.services import write_psychotherapy_note

TOKEN_URL = "http://testserver/fhir/r4/auth/token"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP384R1())
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwks() -> dict:
    rsa_jwk = RSAAlgorithm.to_jwk(RSA_KEY.public_key(), as_dict=True)
    ec_jwk = ECAlgorithm.to_jwk(EC_KEY.public_key(), as_dict=True)
    return {
        "keys": [
            {**rsa_jwk, "kid": "rsa-1", "alg": "RS384"},
            {**ec_jwk, "kid": "ec-1", "alg": "ES384"},
        ]
    }


class SmartTestCase(FhirTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.admin_actor = actor_for(cls.admin, cls.clinic_a)
        cls.system = smart.register_client(
            cls.admin_actor,
            name="Outcomes registry",
            jwks=public_jwks(),
            scope="system/Patient.rs system/Observation.rs system/QuestionnaireResponse.rs",
        )

    def setUp(self) -> None:
        super().setUp()
        cache.clear()

    def assertion(self, key=RSA_KEY, alg="RS384", kid="rsa-1", **claims) -> str:
        now = int(time.time())
        body = {
            "iss": self.system.client_id,
            "sub": self.system.client_id,
            "aud": TOKEN_URL,
            "exp": now + 240,
            "jti": str(uuid.uuid4()),
        }
        body.update(claims)
        return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})

    def post_token(self, assertion: str | None = None, scope="system/Patient.rs", **form):
        data = {
            "grant_type": "client_credentials",
            "client_assertion_type": smart.ASSERTION_TYPE,
            "client_assertion": self.assertion() if assertion is None else assertion,
            "scope": scope,
        }
        data.update(form)
        return self.client.post(
            "/fhir/r4/auth/token", urlencode(data), content_type="application/x-www-form-urlencoded"
        )

    def access_token(self, scope="system/Patient.rs system/Observation.rs") -> str:
        response = self.post_token(scope=scope)
        self.assertEqual(response.status_code, 200, response.content)
        return response.json()["access_token"]

    def assertOAuthError(self, response, error: str, status: int) -> None:
        self.assertEqual(response.status_code, status, response.content)
        self.assertEqual(response["Content-Type"], "application/json")
        body = response.json()
        self.assertEqual(body["error"], error)
        self.assertTrue(body["error_description"])


class DiscoveryTests(SmartTestCase):
    def test_smart_configuration_needs_no_token(self):
        response = self.client.get("/fhir/r4/.well-known/smart-configuration")
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual(body["token_endpoint"], TOKEN_URL)
        self.assertEqual(body["token_endpoint_auth_methods_supported"], ["private_key_jwt"])
        self.assertEqual(
            body["token_endpoint_auth_signing_alg_values_supported"], ["RS384", "ES384"]
        )
        self.assertEqual(body["grant_types_supported"], ["client_credentials"])
        self.assertEqual(body["capabilities"], ["client-confidential-asymmetric"])
        self.assertIn("system/*.rs", body["scopes_supported"])
        self.assertIn("system/Observation.rs", body["scopes_supported"])
        self.assertNotIn("system/AuditEvent.rs", body["scopes_supported"])

    def test_the_capability_statement_names_the_token_endpoint(self):
        body = self.client.get("/fhir/r4/metadata").json()
        security = body["rest"][0]["security"]
        self.assertEqual(security["service"][0]["coding"][0]["code"], "SMART-on-FHIR")
        uris = security["extension"][0]
        self.assertEqual(uris["url"], smart_uris := smart_oauth_uris())
        self.assertTrue(smart_uris.endswith("oauth-uris"))
        self.assertEqual(uris["extension"], [{"url": "token", "valueUri": TOKEN_URL}])


def smart_oauth_uris() -> str:
    from trellis.fhir.capability import OAUTH_URIS

    return OAUTH_URIS


class RegistrationTests(SmartTestCase):
    def test_the_command_registers_lists_and_revokes_a_client(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json") as handle:
            json.dump(public_jwks(), handle)
            handle.flush()
            out = StringIO()
            call_command(
                "register_system_client",
                "--clinic=alpha",
                "--name=Payer feed",
                f"--jwks={handle.name}",
                "--scope",
                "system/Patient.rs",
                "system/Coverage.read",
                "--by=admin",
                stdout=out,
            )
        client = SystemClient.objects.get(client_id=out.getvalue().strip())
        self.assertEqual((client.clinic, client.name), (self.clinic_a, "Payer feed"))
        self.assertEqual(client.scope, "system/Coverage.rs system/Patient.rs")
        self.assertEqual(client.created_by, self.admin)
        self.assertFalse(client.user.has_usable_password())
        listed = StringIO()
        call_command("list_system_clients", "--clinic=alpha", "--by=admin", stdout=listed)
        self.assertIn(f"{client.client_id}\tPayer feed\tactive", listed.getvalue())
        call_command(
            "revoke_system_client", client.client_id, "--clinic=alpha", "--by=admin", stdout=out
        )
        client.refresh_from_db()
        self.assertFalse(client.is_active)
        self.assertFalse(client.user.is_active)

    def test_only_a_clinic_administrator_registers(self):
        with self.assertRaisesMessage(CommandError, "not an administrator"):
            call_command(
                "register_system_client",
                "--clinic=alpha",
                "--name=x",
                "--jwks=/nonexistent",
                "--scope=system/Patient.rs",
                "--by=prescriber",
            )

    def test_bad_key_sets_and_scopes_are_refused_naming_the_field(self):
        private = RSAAlgorithm.to_jwk(RSA_KEY, as_dict=True)
        p256 = ECAlgorithm.to_jwk(
            ec.generate_private_key(ec.SECP256R1()).public_key(), as_dict=True
        )
        cases = [
            ({"keys": []}, "system/Patient.rs", "jwks"),
            ({"keys": [{**private, "kid": "k"}]}, "system/Patient.rs", "jwks"),
            ({"keys": [{**p256, "kid": "k"}]}, "system/Patient.rs", "jwks"),
            (
                {"keys": [{k: v for k, v in public_jwks()["keys"][0].items() if k != "kid"}]},
                "system/Patient.rs",
                "jwks",
            ),
            (public_jwks(), "system/AuditEvent.rs", "scope"),
            (public_jwks(), "patient/Patient.rs", "scope"),
            (public_jwks(), "system/Patient.write", "scope"),
        ]
        for jwks, scope, field in cases:
            with self.subTest(scope=scope, jwks=str(jwks)[:60]):
                with self.assertRaises(InputError) as caught:
                    smart.register_client(self.admin_actor, name="x", jwks=jwks, scope=scope)
                self.assertEqual(caught.exception.field, field)


class TokenEndpointTests(SmartTestCase):
    def test_a_signed_assertion_gets_a_short_lived_token(self):
        for key, alg, kid in ((RSA_KEY, "RS384", "rsa-1"), (EC_KEY, "ES384", "ec-1")):
            with self.subTest(alg=alg):
                response = self.post_token(
                    self.assertion(key, alg, kid),
                    scope="system/Patient.rs system/Observation.read",
                )
                self.assertEqual(response.status_code, 200, response.content)
                self.assertEqual(response["Cache-Control"], "no-store")
                body = response.json()
                self.assertEqual(body["token_type"], "bearer")
                self.assertEqual(body["expires_in"], 300)
                self.assertEqual(body["scope"], "system/Observation.rs system/Patient.rs")
                row = SystemToken.objects.get(key_hash=smart._hash(body["access_token"]))
                self.assertNotIn(body["access_token"], row.key_hash)
                self.assertEqual(row.expires_at - row.created_at, timedelta(minutes=5))
        self.assertTrue(
            AuditEvent.objects.filter(action=Action.LOGIN, user=self.system.user).exists()
        )

    def test_the_wildcard_is_granted_as_the_clients_own_scopes(self):
        body = self.post_token(scope="system/*.rs").json()
        self.assertEqual(
            body["scope"],
            "system/Observation.rs system/Patient.rs system/QuestionnaireResponse.rs",
        )

    def test_bad_assertions_are_invalid_client(self):
        now = int(time.time())
        cases = {
            "wrong aud": self.assertion(aud="http://testserver/fhir/r4/token"),
            "expired": self.assertion(exp=now - 10),
            "exp too far ahead": self.assertion(exp=now + 600),
            "unknown kid": self.assertion(kid="rsa-9"),
            "wrong key": self.assertion(key=OTHER_RSA_KEY),
            "sub differs": self.assertion(sub="someone-else"),
            "RS256": self.assertion(alg="RS256"),
            "EC key under an RSA kid": self.assertion(key=EC_KEY, alg="ES384", kid="rsa-1"),
            "unknown client": self.assertion(iss="nobody", sub="nobody"),
            "not a JWT": "not.a.jwt",
            "unsigned": jwt.encode(
                {"iss": self.system.client_id, "sub": self.system.client_id, "aud": TOKEN_URL},
                None,
                algorithm="none",
            ),
            "a list for claims": "eyJhbGciOiJSUzM4NCIsImtpZCI6InJzYS0xIn0.W10.c2ln",
            "exp not a number": self.assertion(exp="soon"),
            "jti not a string": self.assertion(jti=7),
        }
        for label, assertion in cases.items():
            with self.subTest(label):
                cache.clear()
                response = self.post_token(assertion)
                self.assertOAuthError(response, "invalid_client", 401)
        self.assertEqual(SystemToken.objects.count(), 0)

    def test_a_jti_is_never_accepted_twice(self):
        assertion = self.assertion()
        self.assertEqual(self.post_token(assertion).status_code, 200)
        self.assertOAuthError(self.post_token(assertion), "invalid_client", 401)

    def test_a_revoked_client_gets_nothing_and_its_tokens_stop(self):
        token = self.access_token()
        smart.revoke_client(self.admin_actor, self.system)
        self.assertOAuthError(self.post_token(), "invalid_client", 401)
        self.assertEqual(self.fhir(f"Patient/{self.patient.pk}", token=token).status_code, 401)

    def test_scopes_outside_the_allowed_are_invalid_scope(self):
        for scope in (
            "system/Coverage.rs",
            "system/Patient.rs system/Flag.rs",
            "system/AuditEvent.rs",
            "system/Patient.cruds",
            "user/Patient.rs",
        ):
            with self.subTest(scope=scope):
                self.assertOAuthError(self.post_token(scope=scope), "invalid_scope", 400)

    def test_malformed_requests(self):
        self.assertOAuthError(
            self.post_token(grant_type="authorization_code"), "unsupported_grant_type", 400
        )
        self.assertOAuthError(
            self.post_token(client_assertion_type="password"), "invalid_request", 400
        )
        self.assertOAuthError(self.post_token(assertion=""), "invalid_request", 400)
        self.assertOAuthError(self.post_token(scope=""), "invalid_request", 400)
        response = self.client.post(
            "/fhir/r4/auth/token", {"grant_type": "x"}, content_type="application/json"
        )
        self.assertOAuthError(response, "invalid_request", 400)
        self.assertEqual(self.client.get("/fhir/r4/auth/token").status_code, 405)

    def test_repeated_failures_are_refused_for_a_while(self):
        for _ in range(smart.FAILURE_LIMIT):
            self.assertEqual(self.post_token(self.assertion(key=OTHER_RSA_KEY)).status_code, 401)
        response = self.post_token()
        self.assertEqual(response.status_code, 429)
        self.assertEqual(response.json()["error"], "invalid_client")
        self.assertTrue(
            AuditEvent.objects.filter(action=Action.LOGIN_FAILED, clinic=self.clinic_a).exists()
        )

    def test_assertion_times_are_checked_against_the_given_now(self):
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": smart.ASSERTION_TYPE,
            "client_assertion": self.assertion(),
            "scope": "system/Patient.rs",
        }
        later = timezone.now() + timedelta(minutes=10)
        with self.assertRaisesMessage(smart.TokenError, "expired"):
            smart.issue_token(form, TOKEN_URL, now=later)


class SystemTokenReadTests(SmartTestCase):
    def test_it_reads_and_searches_its_scoped_types_audited_as_the_client(self):
        token = self.access_token()
        response = self.fhir(f"Patient/{self.patient.pk}", token=token)
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["id"], str(self.patient.pk))
        body = self.fhir("Observation", token=token, patient=str(self.patient.pk)).json()
        self.assertGreater(body["total"], 0)
        events = AuditEvent.objects.filter(user=self.system.user, clinic=self.clinic_a)
        self.assertTrue(events.filter(action=Action.READ, patient=self.patient).exists())
        self.assertTrue(events.filter(action=Action.QUERY).exists())
        self.assertTrue(self.system.user.username.startswith("system-"))
        self.assertEqual(self.system.user.first_name, "Outcomes registry")

    def test_an_unscoped_type_is_403(self):
        token = self.access_token(scope="system/Patient.rs")
        for path in (
            "Observation",
            f"Observation/{self.phq9.pk}-total",
            "Encounter",
            "Flag",
            "AuditEvent",
            "Coverage",
        ):
            with self.subTest(path=path):
                response = self.fhir(path, token=token)
                self.assertEqual(response.status_code, 403, response.content)
                self.assertEqual(response.json()["issue"][0]["code"], "forbidden")

    def test_another_clinics_patient_is_404(self):
        token = self.access_token()
        response = self.fhir(f"Patient/{self.patient_b.pk}", token=token)
        self.assertEqual(response.status_code, 404)
        ids = {e["resource"]["id"] for e in self.fhir("Patient", token=token).json()["entry"]}
        self.assertNotIn(str(self.patient_b.pk), ids)
        self.assertIn(str(self.patient.pk), ids)

    def test_an_expired_token_is_401(self):
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": smart.ASSERTION_TYPE,
            "client_assertion": self.assertion(exp=int(time.time()) - 400 + 240),
            "scope": "system/Patient.rs",
        }
        issued = smart.issue_token(form, TOKEN_URL, now=timezone.now() - timedelta(minutes=6))
        response = self.fhir(f"Patient/{self.patient.pk}", token=issued.token)
        self.assertEqual(response.status_code, 401)

    def test_the_json_api_does_not_take_a_system_token(self):
        token = self.access_token()
        response = self.client.get(
            f"/api/v1/patients/{self.patient.pk}", HTTP_AUTHORIZATION=f"Bearer {token}"
        )
        self.assertEqual(response.status_code, 401)

    def test_psychotherapy_notes_are_never_reached(self):
        words = "confided-a-secret-about-the-lighthouse"
        write_psychotherapy_note(actor_for(self.therapist, self.clinic_a), self.patient, words)
        self.start_course()
        self.system = smart.register_client(
            self.admin_actor, name="Everything", jwks=public_jwks(), scope="system/*.rs"
        )
        token = self.access_token(scope="system/*.rs")
        bodies = []
        for kind in sorted(smart.TYPE_PERMISSIONS):
            with self.subTest(kind=kind):
                response = self.fhir(kind, token=token, _count="200")
                self.assertEqual(response.status_code, 200, response.content)
                bodies.append(response.content.decode())
                for entry in response.json().get("entry", []):
                    resource = entry["resource"]
                    path = f"{resource['resourceType']}/{resource['id']}"
                    bodies.append(self.fhir(path, token=token).content.decode())
        self.assertGreater(len(bodies), 20)
        self.assertFalse([b for b in bodies if "lighthouse" in b])
        for kind in ("PsychotherapyNote", "DocumentReference"):
            self.assertEqual(self.fhir(kind, token=token).status_code, 404)
        self.assertEqual(self.fhir("AuditEvent", token=token).status_code, 403)


class SystemExportTests(SmartTestCase):
    def kickoff(self, path: str, token: str, **params):
        return self.client.get(
            f"/fhir/r4/{path}",
            params,
            HTTP_AUTHORIZATION=f"Bearer {token}",
            HTTP_PREFER="respond-async",
        )

    def test_a_system_export_holds_only_the_scoped_types(self):
        from trellis.fhir.models import ExportJob

        token = self.access_token()
        response = self.kickoff("$export", token)
        self.assertEqual(response.status_code, 202, response.content)
        job = ExportJob.objects.get(requested_by=self.system.user)
        self.assertEqual(sorted(job.params["types"]), ["Observation", "Patient"])
        self.assertEqual(job.clinic, self.clinic_a)
        bulk.run_pending()
        fresh = self.access_token()  # the first may have lived its five minutes by now
        status = self.client.get(response["Content-Location"], HTTP_AUTHORIZATION=f"Bearer {fresh}")
        self.assertEqual(status.status_code, 200, status.content)
        outputs = status.json()["output"]
        self.assertEqual({o["type"] for o in outputs}, {"Observation", "Patient"})
        lines = []
        for output in outputs:
            got = self.client.get(output["url"], HTTP_AUTHORIZATION=f"Bearer {fresh}")
            self.assertEqual(got.status_code, 200)
            lines += [json.loads(line) for line in got.content.decode().splitlines()]
        patients = {r["id"] for r in lines if r["resourceType"] == "Patient"}
        self.assertIn(str(self.patient.pk), patients)
        self.assertNotIn(str(self.patient_b.pk), patients)
        staff = self.client.get(outputs[0]["url"], HTTP_AUTHORIZATION=f"Bearer {self.token}")
        self.assertEqual(staff.status_code, 404)
        self.assertEqual(self.kickoff("$export", token, _type="Encounter").status_code, 403)
        self.assertEqual(self.kickoff("Patient/$export", token, _type="Flag").status_code, 403)

    def test_a_group_is_read_only_with_the_patient_scope(self):
        observations = self.access_token(scope="system/Observation.rs")
        response = self.fhir("Group/active-tms", token=observations)
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.fhir("Group/active-tms", token=self.access_token()).status_code, 200)
