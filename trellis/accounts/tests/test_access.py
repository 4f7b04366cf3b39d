import re

from django.core.exceptions import PermissionDenied
from django.http import Http404

from trellis.accounts.permissions import Perm, Role
from trellis.audit.models import Action, AuditEvent
from trellis.patients import access
from trellis.testing import AUDIT_LOCK_QUERIES, TrellisTestCase, actor_for


class PatientPageAccessTests(TrellisTestCase):
    def test_every_role_at_the_clinic_opens_the_patient_page(self):
        for role, user in self.staff_a.items():
            with self.subTest(role=role):
                self.sign_in(user)
                response = self.client.get(f"/patients/{self.patient.id}/")
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, self.patient.mrn)

    def test_it_hides_other_clinics_patients(self):
        self.sign_in(self.prescriber_b)
        response = self.client.get(f"/patients/{self.patient.id}/")
        self.assertEqual(response.status_code, 404)
        self.assertNotContains(response, "Lovelace", status_code=404)

    def test_the_other_clinic_gets_the_same_404_as_a_record_that_does_not_exist(self):
        self.sign_in(self.prescriber_b)
        unknown = self.client.get("/patients/00000000-0000-4000-8000-000000000000/")
        other = self.client.get(f"/patients/{self.patient.id}/")
        self.assertEqual(unknown.status_code, other.status_code)
        token = re.compile(rb'"X-CSRFToken": "[^"]+"|name="csrfmiddlewaretoken" value="[^"]+"')
        self.assertEqual(token.sub(b"", unknown.content), token.sub(b"", other.content))

    def test_reading_a_patient_writes_an_audit_event(self):
        self.sign_in(self.nurse)
        self.client.get(f"/patients/{self.patient.id}/", REMOTE_ADDR="10.1.2.3")
        event = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual(
            (
                event.action,
                event.user,
                event.patient,
                event.clinic,
                event.source_address,
                event.object_type,
                event.object_id,
            ),
            (
                Action.READ,
                self.nurse,
                self.patient,
                self.clinic_a,
                "10.1.2.3",
                "patients.patient",
                str(self.patient.id),
            ),
        )

    def test_a_refused_read_writes_no_read_event(self):
        self.sign_in(self.prescriber_b)
        before = AuditEvent.objects.count()
        self.client.get(f"/patients/{self.patient.id}/")
        self.assertFalse(AuditEvent.objects.filter(seq__gt=before, action=Action.READ).exists())

    def test_signed_out_visitors_are_sent_to_sign_in(self):
        response = self.client.get(f"/patients/{self.patient.id}/")
        self.assertRedirects(response, f"/accounts/login/?next=/patients/{self.patient.id}/")


class AccessHelperMatrixTests(TrellisTestCase):
    """The helper itself, for every role and every permission: 404 before 403 before success."""

    def test_it_enforces_the_matrix_for_every_role_and_permission(self):
        for role, user in self.staff_a.items():
            actor = actor_for(user, self.clinic_a)
            for perm in Perm:
                with self.subTest(role=role, perm=perm):
                    allowed = role in access_rules()[perm]
                    if allowed:
                        self.assertEqual(access.patient(actor, self.patient.id, perm), self.patient)
                    else:
                        with self.assertRaises(PermissionDenied):
                            access.patient(actor, self.patient.id, perm)

    def test_another_clinics_prescriber_gets_404_for_every_permission(self):
        actor = actor_for(self.prescriber_b, self.clinic_b)
        for perm in Perm:
            with self.subTest(perm=perm), self.assertRaises(Http404):
                access.patient(actor, self.patient.id, perm)

    def test_a_malformed_id_is_404_not_an_error(self):
        actor = actor_for(self.prescriber, self.clinic_a)
        with self.assertRaises(Http404):
            access.patient(actor, "not-a-uuid")

    def test_no_actor_is_404(self):
        with self.assertRaises(Http404):
            access.patient(None, self.patient.id)

    def test_an_inactive_membership_grants_nothing(self):
        membership = self.nurse.memberships.get()
        membership.is_active = False
        membership.save(update_fields=["is_active"])
        self.sign_in(self.nurse)
        response = self.client.get("/patients/")
        self.assertEqual(response.status_code, 403)


def access_rules():
    from trellis.accounts.permissions import RULES

    return RULES


class SearchTests(TrellisTestCase):
    def test_it_finds_patients_by_name_mrn_and_birth_date(self):
        self.sign_in(self.front_desk)
        for query in ("Lovel", "ada lov", self.patient.mrn, "1980-05-17", "05/17/1980"):
            with self.subTest(query=query):
                response = self.client.get("/patients/", {"q": query})
                self.assertContains(response, "Lovelace")
                self.assertNotContains(response, "Hopper")

    def test_it_never_lists_another_clinics_patients(self):
        self.sign_in(self.prescriber_b)
        response = self.client.get("/patients/", {"q": "Lovelace"})
        self.assertNotContains(response, str(self.patient.id))
        self.assertNotContains(response, self.patient.mrn)
        self.assertContains(response, "No patients match")

    def test_a_search_is_audited_as_a_query(self):
        self.sign_in(self.nurse)
        self.client.get("/patients/", {"q": "Hop"})
        event = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual((event.action, event.detail), (Action.QUERY, {"q": "Hop", "results": 1}))

    def test_htmx_gets_only_the_results_fragment(self):
        self.sign_in(self.nurse)
        response = self.client.get("/patients/", {"q": "Hop"}, HTTP_HX_REQUEST="true")
        self.assertContains(response, "Hopper")
        self.assertNotContains(response, "<html")

    def test_the_list_takes_a_fixed_number_of_queries(self):
        self.sign_in(self.nurse)
        self.client.get("/patients/")  # warm the session
        # session, user, OTP device, memberships, the open-alert badge, patients, and the audit
        # append (savepoint, tail, insert, release; PostgreSQL also takes the chain's lock).
        with self.assertNumQueries(10 + AUDIT_LOCK_QUERIES):
            self.client.get("/patients/")


class RoleLabelsTests(TrellisTestCase):
    def test_every_role_is_in_the_demo_personas(self):
        self.assertEqual(set(self.staff_a), set(Role))
