"""The clinic administrator who is e-mailed an escalation opens the alert from the e-mail's
link: read only, with no dead link on the page, and acknowledgement left to clinicians."""

import re
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlparse

from django.utils import timezone

from trellis.accounts.middleware import SESSION_CLINIC
from trellis.accounts.models import Membership
from trellis.accounts.permissions import Role
from trellis.messaging.models import OutboxMessage
from trellis.safety import services as alerts
from trellis.safety.models import AlertStatus, SafetyAlert
from trellis.safety.tests.test_alerts import AlertTestCase


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href and href.startswith("/"):
            self.hrefs.append(href)


def links_in(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.hrefs


class EscalatedAlertForTheAdministratorTests(AlertTestCase):
    def escalated(self) -> tuple[SafetyAlert, str]:
        """An item-9 alert left open for an hour; the path of the link e-mailed to the admin."""
        t0 = timezone.now() - timedelta(minutes=61)
        alert = self.item_nine(now=t0)
        alerts.escalate_due_alerts()
        body = OutboxMessage.objects.get(recipient="admin@example.org").body
        url = re.search(r"https?://\S+", body).group(0)
        return alert, urlparse(url).path

    def test_the_administrator_opens_the_alert_from_the_e_mail(self):
        alert, path = self.escalated()
        self.assertEqual(path, f"/alerts/{alert.id}/")
        self.sign_in(self.admin)
        page = self.client.get(path)
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, alert.summary)
        self.assertContains(page, "may see the alert but not acknowledge it")
        self.assertNotContains(page, "Acknowledge alert")
        self.assertNotContains(page, f"/alerts/{alert.id}/acknowledge/")

    def test_no_link_on_the_page_is_dead_for_the_administrator(self):
        _, path = self.escalated()
        self.sign_in(self.admin)
        hrefs = links_in(self.client.get(path).content.decode())
        self.assertIn(f"/patients/{self.patient.id}/", hrefs)
        for href in hrefs:
            with self.subTest(href=href):
                self.assertEqual(self.client.get(href).status_code, 200)

    def test_the_administrator_cannot_acknowledge_by_page_or_api(self):
        alert, _ = self.escalated()
        self.sign_in(self.admin)
        response = self.client.post(
            f"/alerts/{alert.id}/acknowledge/", {"note": "Told Dr P.", "actions": []}
        )
        self.assertEqual(response.status_code, 403)
        response = self.api(
            "post", f"/api/v1/alerts/{alert.id}/acknowledge", "admin", {"note": "Told Dr P."}
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(SafetyAlert.objects.get(pk=alert.pk).status, AlertStatus.OPEN)
        listed = self.api("get", "/api/v1/alerts?status=open", "admin").json()
        self.assertEqual([row["id"] for row in listed], [str(alert.id)])

    def test_an_administrator_working_at_another_clinic_is_offered_the_switch(self):
        alert, path = self.escalated()
        Membership.objects.create(user=self.admin, clinic=self.clinic_b, role=Role.CLINIC_ADMIN)
        self.sign_in(self.admin)
        session = self.client.session
        session[SESSION_CLINIC] = str(self.clinic_b.pk)
        session.save()

        page = self.client.get(path)
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "Switch to Alpha Clinic and open the alert")
        self.assertNotContains(page, alert.summary)
        response = self.client.post(
            "/accounts/clinic/", {"clinic": str(self.clinic_a.pk), "next": path}
        )
        self.assertRedirects(response, path)
        self.assertContains(self.client.get(path), alert.summary)

    def test_another_clinics_staff_still_get_404(self):
        _, path = self.escalated()
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(path).status_code, 404)
