"""The staff top bar's menu (``trellis.menu``): what each role is shown, that every link shown
opens, which one is current, and the open-alert count read once and only for alert readers."""

from django.test import RequestFactory
from django.urls import reverse

from trellis import menu
from trellis.accounts.permissions import Role
from trellis.safety import services as alerts
from trellis.testing import TrellisTestCase, actor_for

# What each role sees, in the bar's order.
SHOWN = {
    Role.FRONT_DESK: ["Today", "Calendar", "Patients", "Groups", "Requests", "Messages",
                      "Insurance"],
    Role.NURSE: ["Today", "Calendar", "Patients", "Groups", "Requests", "Messages",
                 "Questionnaires", "Alerts", "REMS", "Stock"],
    Role.PRESCRIBER: ["Today", "Calendar", "Patients", "Groups", "Requests", "Messages",
                      "Questionnaires", "Alerts", "REMS", "Stock", "Insurance", "Outcomes"],
    Role.CLINIC_ADMIN: ["Calendar", "Patients", "Groups", "Requests", "Alerts", "Stock",
                        "Insurance", "Billing", "Outcomes", "Research", "Audit", "Clinic",
                        "Staff"],
}  # fmt: skip
ENTRIES = {entry.label: entry for entry in menu.MENU}


def no_alerts() -> int:
    raise AssertionError("the count is read only for a role shown Alerts")


class MenuTests(TrellisTestCase):
    def links(self, user, here="home", open_alerts=no_alerts):
        return menu.links(actor_for(user, self.clinic_a), here, open_alerts)

    def test_each_role_is_shown_its_pages_in_order(self):
        for role, labels in SHOWN.items():
            counted = (lambda: 0) if "Alerts" in labels else no_alerts
            shown = self.links(self.staff_a[role], open_alerts=counted)
            self.assertEqual([link.label for link in shown], labels, role)
        self.assertEqual(menu.links(None, "home", no_alerts), [])

    def test_every_link_a_role_is_shown_opens_for_it(self):
        for role, user in self.staff_a.items():
            self.sign_in(user)
            for link in self.links(user, open_alerts=lambda: 0):
                with self.subTest(role=role, link=link.label):
                    self.assertEqual(self.client.get(link.href).status_code, 200)
                    self.assertEqual(link.href, reverse(ENTRIES[link.label].url_name))

    def test_the_page_and_the_pages_under_it_mark_their_entry_current(self):
        for here, label in [
            ("calendar_day", "Calendar"),
            ("calendar_week", "Calendar"),
            ("group_detail", "Groups"),
            ("alert_detail", "Alerts"),
            ("payer_list", "Insurance"),
            ("patient_list", "Patients"),
        ]:
            shown = self.links(self.prescriber, here, open_alerts=lambda: 0)
            self.assertEqual([link.label for link in shown if link.current], [label], here)
        elsewhere = self.links(self.nurse, "patient_detail", open_alerts=lambda: 0)
        self.assertFalse(any(link.current for link in elsewhere))

    def test_a_page_counts_the_clinics_open_alerts_once_for_the_bar(self):
        nurse = actor_for(self.nurse, self.clinic_a)
        for _ in range(2):
            alerts.raise_alert(nurse, self.patient, "vital_sign", "high", "BP 182/104")
        request = RequestFactory().get("/")
        request.actor, request.resolver_match = nurse, None
        with self.assertNumQueries(1):
            context = menu.nav(request)
            shown = {link.label: link for link in context["menu"]()}
            self.assertEqual(context["menu"](), list(shown.values()))  # built once a request
        self.assertEqual(shown["Alerts"].open_alerts, 2)
        self.assertEqual(shown["Alerts"].open_alerts_label, "2 open safety alerts")
        self.assertIsNone(shown["Patients"].open_alerts)
        request.actor = actor_for(self.front_desk, self.clinic_a)
        with self.assertNumQueries(0):
            self.assertNotIn("Alerts", [link.label for link in menu.nav(request)["menu"]()])

    def test_the_bar_on_a_page_shows_the_count_and_marks_the_page(self):
        alerts.raise_alert(
            actor_for(self.nurse, self.clinic_a), self.patient, "seizure", "urgent", "Seizure"
        )
        self.sign_in(self.nurse)
        page = self.client.get("/alerts/")
        self.assertContains(
            page,
            '<a href="/alerts/" aria-current="page">Alerts <span class="count count-danger" '
            'aria-label="1 open safety alert">1</span></a>',
            html=True,
        )
        self.sign_in(self.front_desk)
        page = self.client.get("/patients/")
        self.assertContains(
            page, '<a href="/patients/" aria-current="page">Patients</a>', html=True
        )
        self.assertNotContains(page, 'href="/alerts/"')
