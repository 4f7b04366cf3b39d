"""Clinic A with a group room open every day 08:00–20:00, an 8-week integration program, and
helpers to plan a cohort and fill it."""

from datetime import date, datetime, time, timedelta

from trellis.groups import services
from trellis.groups.models import Cohort
from trellis.patients.models import Patient
from trellis.scheduling.kinds import ResourceKind
from trellis.scheduling.tests.base import add_resource
from trellis.testing import TrellisTestCase, actor_for


class GroupsTestCase(TrellisTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.room = add_resource(
            cls.clinic_a, "Group room", ResourceKind.ROOM, opens=time(8), closes=time(20)
        )
        cls.program = services.create_program(
            actor_for(cls.admin, cls.clinic_a),
            name="Integration group, 8 weeks",
            sessions=8,
            minutes=90,
            description="Weekly integration after ketamine or TMS treatment.",
            eligibility_notes="Patients in or after a course; screened for fit.",
        )

    def actor(self, user=None):
        return actor_for(user or self.front_desk, self.clinic_a)

    def cohort(
        self, start: date | None = None, *, capacity: int = 12, late: int = 2, **kw
    ) -> Cohort:
        return services.create_cohort(
            self.actor(self.admin),
            self.program,
            start_date=start or self.clinic_a.today() + timedelta(days=7),
            start_time=kw.pop("start_time", time(17)),
            room=self.room,
            facilitators=[self.therapist],
            capacity=capacity,
            late_join_until=late,
            **kw,
        )

    def patients(self, count: int, prefix: str = "Member") -> list[Patient]:
        return [
            Patient.objects.create(
                clinic=self.clinic_a,
                mrn=f"ALP-9{n:05d}{prefix[:1]}",
                given_name=f"{prefix}{n}",
                family_name=f"Family{prefix}{n}",
                birth_date=date(1980, 1, 1 + n % 28),
                sex="female",
            )
            for n in range(count)
        ]

    def before(self, cohort: Cohort) -> datetime:
        """A moment before the cohort's first session (its day, at 08:00)."""
        return datetime.combine(cohort.start_date, time(8), self.clinic_a.tzinfo)
