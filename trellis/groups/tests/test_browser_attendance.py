"""A group of eight in the room, end to end in the system's Chromium on a tablet: the therapist
opens today's session, takes the attendance (one member forgotten at first: the page names
them and keeps the others' choices), writes the group note with each attendee's section, signs
it, and opens one member's chart, which shows that member's attendance and section and no
other member. No console or Content Security Policy error on the way. Run alone with
``pytest -m browser``."""

import os
from datetime import date, datetime, time
from pathlib import Path

import pytest

from trellis.accounts.permissions import Role
from trellis.groups import services
from trellis.groups.models import Attendance, GroupNote
from trellis.lib.browser_testing import page_errors, signed_in_context
from trellis.patients.models import Patient
from trellis.scheduling.kinds import ResourceKind
from trellis.scheduling.tests.base import add_resource
from trellis.testing import actor_for, make_clinic, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = {"width": 800, "height": 1100}
NAMES = [
    ("Ines", "Abara"),
    ("Jonah", "Birch"),
    ("Kasia", "Coyle"),
    ("Liam", "Dunmore"),
    ("Mira", "Eskew"),
    ("Nils", "Farrow"),
    ("Odile", "Garnet"),
    ("Pavel", "Hurst"),
]
# Who came: the third was late, the sixth left early, the eighth did not come.
CHOSEN = ["Present", "Present", "Late", "Present", "Present", "Left early", "Present", "Absent"]


def _screenshot(page, name: str) -> None:
    folder = os.environ.get("TRELLIS_BROWSER_SHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"group-{name}.png"), full_page=True)


def test_attendance_for_a_group_of_eight_on_a_tablet_then_one_members_chart(live_server, chromium):
    from playwright.sync_api import expect

    clinic = make_clinic("riverside", "Riverside Interventional Psychiatry", "RIV")
    admin = make_staff("admin", clinic, Role.CLINIC_ADMIN)
    therapist = make_staff("therapist", clinic, Role.THERAPIST)
    desk = make_staff("frontdesk", clinic, Role.FRONT_DESK)
    room = add_resource(clinic, "Group room", ResourceKind.ROOM, opens=time(0), closes=time(23, 59))
    program = services.create_program(
        actor_for(admin, clinic), name="Integration group, 8 weeks", sessions=8, minutes=90
    )
    today = clinic.today()
    before = datetime.combine(today, time(0), clinic.tzinfo)
    cohort = services.create_cohort(
        actor_for(admin, clinic),
        program,
        start_date=today,
        start_time=time(0, 5),
        room=room,
        facilitators=[therapist],
        capacity=8,
        now=before,
    )
    members = [
        Patient.objects.create(
            clinic=clinic,
            mrn=f"RIV-0000{n + 10}",
            given_name=given,
            family_name=family,
            birth_date=date(1975 + n, 3, 1 + n),
            sex="female",
        )
        for n, (given, family) in enumerate(NAMES)
    ]
    for member in members:
        services.enrol(actor_for(desk, clinic), cohort, member, now=before)
    meeting = cohort.meetings.get(number=1)

    context = signed_in_context(chromium, live_server, therapist, viewport=TABLET, has_touch=True)
    page = context.new_page()
    url = f"/groups/sessions/{meeting.id}/"
    problems = page_errors(page, refused=f"{url}attendance/")

    # 1. From the cohort's page the therapist opens today's session.
    page.goto(f"{live_server.url}/groups/cohorts/{cohort.id}/")
    page.locator("#sessions").get_by_role("link").first.click()
    expect(page).to_have_url(f"{live_server.url}{url}")
    expect(page.get_by_role("heading", name="Session 1 of 8")).to_be_visible()
    rows = page.locator(".roll-row")
    expect(rows).to_have_count(8)

    # 2. Seven chosen, the last forgotten: refused, the member named, the choices kept.
    for n, (given, family) in enumerate(NAMES[:-1]):
        group = page.get_by_role("radiogroup", name=f"{given} {family}")
        group.locator(".segment", has_text=CHOSEN[n]).tap()
    page.get_by_role("button", name="Save attendance").tap()
    expect(page.get_by_role("alert")).to_contain_text(
        "Pavel Hurst: choose present, late, left early or absent"
    )
    expect(page.get_by_role("radiogroup", name="Kasia Coyle").get_by_label("Late")).to_be_checked()
    assert not Attendance.objects.exists()
    _screenshot(page, "1-attendance-refused")

    # 3. The last one marked absent: seven took part.
    page.get_by_role("radiogroup", name="Pavel Hurst").locator(".segment", has_text="Absent").tap()
    page.get_by_role("button", name="Save attendance").tap()
    expect(page.get_by_text("Attendance taken: 7 of 8 took part.")).to_be_visible()
    assert Attendance.objects.filter(meeting=meeting).count() == 8
    _screenshot(page, "2-attendance-taken")

    # 4. The group note: the shared part and each attendee's section; signed.
    note = page.locator("#note")
    note.get_by_label("Topic").fill("Carrying insights into the week")
    note.get_by_label("Interventions").fill("Mindful check-in; paired reflection; closing round")
    fieldsets = note.locator("fieldset")
    expect(fieldsets).to_have_count(7)
    for n in range(7):
        fieldset = fieldsets.nth(n)
        fieldset.get_by_label("Participation").fill(f"Shared a reflection (section {n + 1})")
        fieldset.get_by_label("Response").fill("Engaged and supportive")
    page.get_by_role("button", name="Sign group note").tap()
    expect(page.get_by_text("Group note signed.")).to_be_visible()
    signed = GroupNote.objects.get(meeting=meeting)
    assert signed.is_signed and signed.participant_count == 7
    assert Attendance.objects.filter(meeting=meeting, billing_code="90853").count() == 7

    # 5. One member's chart: their attendance and section, no other member.
    kasia = members[2]
    page.goto(f"{live_server.url}/patients/{kasia.id}/")
    card = page.locator("#groups")
    expect(card).to_contain_text("Integration group, 8 weeks")
    expect(card).to_contain_text("Late")
    card.get_by_role(
        "link", name=today.strftime("%b ") + str(today.day) + today.strftime(", %Y")
    ).tap()
    expect(
        page.get_by_role("heading", name="Integration group, 8 weeks, session 1")
    ).to_be_visible()
    expect(page.locator("main")).to_contain_text("Shared a reflection (section 3)")
    body = page.locator("main").inner_text()
    for given, family in NAMES:
        if family != "Coyle":
            assert family not in body and given not in body, family
    for n in (1, 2, 4, 5, 6, 7):
        assert f"(section {n})" not in body
    _screenshot(page, "3-member-chart")
    assert problems == []
