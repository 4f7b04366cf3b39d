"""Public holidays proposed as closure days, from the clinic's country and state: listed on the
closures page, added only when an administrator accepts one."""

from datetime import date, timedelta

from trellis.audit.models import Action, AuditEvent
from trellis.testing import TrellisTestCase
from trellis.treatments import public_holidays, services
from trellis.treatments.models import ClosureDay


class ProposalTests(TrellisTestCase):
    """The pure module, against fixed dates."""

    def names(self, country, subdivision, today, closed=frozenset()):
        return {
            h.date: h.name for h in public_holidays.proposals(country, subdivision, today, closed)
        }

    def test_a_new_york_clinic_gets_the_coming_years_weekday_holidays(self):
        found = self.names("US", "NY", date(2026, 1, 5))
        for day, name in [
            (date(2026, 11, 26), "Thanksgiving Day"),
            (date(2026, 12, 25), "Christmas Day"),
            (date(2026, 2, 12), "Lincoln's Birthday"),  # New York State only
            (date(2026, 7, 3), "Independence Day (observed)"),  # July 4 is a Saturday
            (date(2027, 1, 1), "New Year's Day"),
        ]:
            with self.subTest(day=day):
                self.assertEqual(found.get(day), name)
        self.assertNotIn(date(2026, 1, 1), found)  # before today
        self.assertNotIn(date(2026, 7, 4), found)  # a Saturday: closed anyway
        self.assertTrue(all(day <= date(2027, 1, 5) for day in found))  # the coming year

    def test_state_holidays_follow_the_state(self):
        self.assertNotIn(date(2026, 2, 12), self.names("US", "CA", date(2026, 1, 5)))
        self.assertNotIn(date(2026, 2, 12), self.names("US", "", date(2026, 1, 5)))
        self.assertIn(date(2026, 7, 1), self.names("CA", "ON", date(2026, 1, 5)))  # Canada Day

    def test_closure_days_already_entered_are_not_proposed_again(self):
        closed = {date(2026, 11, 26)}
        self.assertNotIn(date(2026, 11, 26), self.names("US", "NY", date(2026, 1, 5), closed))

    def test_an_unknown_country_proposes_nothing(self):
        self.assertEqual(self.names("XX", "", date(2026, 1, 5)), {})


class HolidayClosurePageTests(TrellisTestCase):
    def setUp(self):
        self.clinic_a.country, self.clinic_a.subdivision = "US", "NY"
        self.clinic_a.save(update_fields=["country", "subdivision"])
        self.today = services.clinic_today(self.clinic_a)
        self.thanksgiving = next(
            h.date
            for h in public_holidays.public_holidays(
                "US", "NY", self.today, self.today + timedelta(days=365)
            )
            if h.name == "Thanksgiving Day"
        )

    def test_the_page_proposes_thanksgiving_and_adds_nothing_by_itself(self):
        self.sign_in(self.admin)
        page = self.client.get("/clinic/closures/")
        self.assertContains(page, "Public holidays in the coming year")
        self.assertContains(page, "Thanksgiving Day")
        self.assertContains(page, f'value="{self.thanksgiving.isoformat()}"')
        self.assertFalse(ClosureDay.objects.exists())

    def test_accepting_a_holiday_makes_it_a_closure_day_through_the_closure_service(self):
        self.sign_in(self.admin)
        response = self.client.post(
            "/clinic/closures/holiday/", {"date": self.thanksgiving.isoformat()}, follow=True
        )
        self.assertRedirects(response, "/clinic/closures/")
        closure = ClosureDay.objects.get(clinic=self.clinic_a)
        self.assertEqual((closure.date, closure.reason), (self.thanksgiving, "Thanksgiving Day"))
        self.assertContains(response, "The clinic is closed on")
        event = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual(
            (event.action, event.object_type, event.object_id, event.detail["reason"]),
            (
                Action.CREATE,
                "treatments.closureday",
                self.thanksgiving.isoformat(),
                "Thanksgiving Day",
            ),
        )
        # No longer proposed.
        proposed = [h.date for h in response.context["holidays"]]
        self.assertNotIn(self.thanksgiving, proposed)

    def test_a_day_that_is_not_a_proposed_holiday_is_refused_by_name(self):
        self.sign_in(self.admin)
        ordinary = self.thanksgiving - timedelta(days=2)  # a Tuesday
        response = self.client.post(
            "/clinic/closures/holiday/", {"date": ordinary.isoformat()}, follow=True
        )
        self.assertContains(response, "Date: is not a proposed public holiday of the coming year.")
        self.assertFalse(ClosureDay.objects.exists())

    def test_only_the_administrator_may_accept_one(self):
        self.sign_in(self.prescriber)
        response = self.client.post(
            "/clinic/closures/holiday/", {"date": self.thanksgiving.isoformat()}
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(ClosureDay.objects.exists())
