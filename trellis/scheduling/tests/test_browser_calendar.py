"""Front desk's day in the system's Chromium (Playwright), at a tablet's size: book a course's
planned sessions from the course page in one step, check a patient in from the day view with one
tap, mark another a no-show. No console or Content Security Policy error on the way. Run alone
with ``pytest -m browser``."""

import os
from datetime import datetime, time
from pathlib import Path

import pytest

from trellis.accounts.permissions import Role
from trellis.lib.browser_testing import page_errors, signed_in_context
from trellis.patients import services as patient_services
from trellis.patients.tests.test_api import TRD_TRIALS
from trellis.scheduling import services
from trellis.scheduling.kinds import ResourceKind
from trellis.scheduling.models import Appointment
from trellis.scheduling.tests.base import add_resource, next_monday
from trellis.testing import (
    SAFE_ANSWERS,
    actor_for,
    make_clinic,
    make_patient,
    make_staff,
    restore_builtin_protocols,
)
from trellis.treatments import services as treatment_services
from trellis.treatments.models import SessionStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = {"width": 820, "height": 1180}
# Open all day, so that today's appointments can be booked whatever the hour the test runs.
ALL_DAY = {"opens": time(0), "closes": time(23, 45)}


def _screenshot(page, name: str) -> None:
    """With TRELLIS_BROWSER_SHOTS naming a directory, keep a picture of the page there."""
    folder = os.environ.get("TRELLIS_BROWSER_SHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"calendar-{name}.png"), full_page=True)


def test_front_desk_books_a_course_checks_a_patient_in_and_marks_a_no_show(live_server, chromium):
    from playwright.sync_api import expect

    restore_builtin_protocols()
    clinic = make_clinic("riverside", "Riverside Interventional Psychiatry", "RIV")
    prescriber = make_staff("prescriber", clinic, Role.PRESCRIBER)
    front_desk = make_staff("frontdesk", clinic, Role.FRONT_DESK)
    prescribing = actor_for(prescriber, clinic)
    desk = actor_for(front_desk, clinic)
    chair = add_resource(clinic, "Chair 1", ResourceKind.CHAIR, ordering=1, **ALL_DAY)
    add_resource(clinic, "Chair 2", ResourceKind.CHAIR, ordering=2, **ALL_DAY)
    room = add_resource(clinic, "Room A", ResourceKind.ROOM, ordering=3, **ALL_DAY)
    tara = make_patient(prescribing, "Tara", "Castillo")
    omar = make_patient(prescribing, "Omar", "Brooks")
    grace = make_patient(prescribing, "Grace", "Hughes")
    screening = patient_services.create_screening(prescribing, tara, SAFE_ANSWERS, TRD_TRIALS)
    patient_services.sign_screening(prescribing, screening)
    course = treatment_services.start_course(
        prescribing, tara, "ketamine-iv-induction", next_monday(clinic)
    )
    today = clinic.today()
    arriving = services.book_appointment(
        desk,
        patient=omar,
        kind="iv_ketamine",
        start=datetime.combine(today, time(0, 15), clinic.tzinfo),
        resource=chair,
    )
    missing = services.book_appointment(
        desk,
        patient=grace,
        kind="assessment",
        start=datetime.combine(today, time(0, 30), clinic.tzinfo),
        resource=room,
    )

    context = signed_in_context(chromium, live_server, front_desk, viewport=TABLET)
    page = context.new_page()
    problems = page_errors(page)

    # 1. From the course page, book every planned session in one step.
    page.goto(f"{live_server.url}/courses/{course.id}/")
    page.get_by_role("link", name="Book sessions").click()
    expect(page.get_by_role("heading", name="Book sessions")).to_be_visible()
    rows = page.locator("table.course-book tbody tr")
    expect(rows).to_have_count(course.sessions.count())
    expect(page.get_by_label("Session 1 resource")).to_have_value(str(chair.pk))
    _screenshot(page, "1-course-booking")
    page.get_by_role("button", name="Book all").click()
    expect(page).to_have_url(f"{live_server.url}/courses/{course.id}/")
    expect(page.locator(".message-success")).to_contain_text(
        f"Booked {course.sessions.count()} sessions"
    )
    expect(page.get_by_role("link", name="Book sessions")).to_have_count(0)
    assert not course.sessions.filter(status=SessionStatus.PLANNED).exists()
    assert Appointment.objects.filter(session__course=course).count() == course.sessions.count()

    # 2. On today's calendar, one tap checks Omar in; a second tap changes nothing.
    page.get_by_role("link", name="Calendar").click()
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    block = page.locator(f"#appt-{arriving.id}")
    expect(block).to_contain_text("Omar Brooks")
    check_in = block.get_by_role("button", name="Check in")
    box = check_in.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44, box  # a touch target
    check_in.click()
    expect(block).to_contain_text("✓ Checked in")
    expect(block).to_contain_text("Omar Brooks: checked in.")
    expect(block.get_by_role("button", name="Complete")).to_be_visible()
    arriving.refresh_from_db()
    assert arriving.status == "checked_in"
    _screenshot(page, "2-checked-in")

    # 3. Grace did not come: a no-show, from the block's "More" (⋯), over the grid.
    block = page.locator(f"#appt-{missing.id}")
    more = block.get_by_role("button", name="More for Grace Hughes")
    box = more.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44, box
    more.click()
    expect(block.locator(".appt-pop")).to_be_visible()
    block.get_by_role("button", name="No-show").click()
    expect(block).to_contain_text("✕ No-show")
    expect(block.get_by_role("button", name="Check in")).to_have_count(0)
    missing.refresh_from_db()
    assert missing.status == "no_show"

    # The day still reads the same after a reload: one checked in, the no-show shown as such.
    page.reload()
    expect(page.locator(f"#appt-{arriving.id}")).to_contain_text("✓ Checked in")
    expect(page.locator(f"#appt-{missing.id}")).to_contain_text("✕ No-show")
    _screenshot(page, "3-day")
    assert problems == []
    context.close()
