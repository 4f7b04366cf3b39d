"""The nurse's note survives a reload, end to end in the system's Chromium (Playwright): typed
into an esketamine session in progress, kept as a draft ("Draft saved 14:02"), back in the
textarea when the page loads again, with no Content Security Policy error on the way. Run alone
with ``pytest -m browser``."""

import pytest
from django.utils import timezone

from trellis.accounts.permissions import Role
from trellis.lib.browser_testing import page_errors, signed_in_context
from trellis.patients import services as patient_services
from trellis.patients.tests.test_api import TRD_TRIALS
from trellis.testing import (
    SAFE_ANSWERS,
    actor_for,
    make_clinic,
    make_patient,
    make_staff,
    restore_builtin_protocols,
)
from trellis.treatments import services, sessions
from trellis.treatments.models import NoteDraft
from trellis.treatments.tests.helpers import SERTRALINE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOTE = "Calm and talkative; mild dissociation at 40 min, easing by 60."


def test_the_note_is_kept_as_a_draft_and_comes_back_after_a_reload(live_server, chromium):
    from playwright.sync_api import expect

    restore_builtin_protocols()
    clinic = make_clinic("riverside", "Riverside Interventional Psychiatry", "RIV")
    prescriber = make_staff("prescriber", clinic, Role.PRESCRIBER)
    nurse = make_staff("nurse", clinic, Role.NURSE)
    prescribing = actor_for(prescriber, clinic)
    patient = make_patient(prescribing, "Tara", "Castillo")
    screening = patient_services.create_screening(prescribing, patient, SAFE_ANSWERS, TRD_TRIALS)
    patient_services.sign_screening(prescribing, screening)
    today = timezone.localdate(timezone=clinic.tzinfo)
    course = services.start_course(
        prescribing, patient, "esketamine-trd", today, with_antidepressant=SERTRALINE
    )
    session = course.sessions.order_by("number").first()
    session.planned_date = today  # begun on its day, whatever weekday the suite runs
    session.save(update_fields=["planned_date"])
    sessions.begin_session(actor_for(nurse, clinic), session)

    context = signed_in_context(
        chromium, live_server, nurse, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    problems = page_errors(page)
    page.goto(f"{live_server.url}/sessions/{session.id}/")

    expect(page.get_by_text("this page keeps you signed in")).to_be_visible()
    note = page.get_by_label("Note", exact=True)
    note.click()
    note.press_sequentially(NOTE, delay=10)
    expect(page.locator("#id_note_help")).to_contain_text("Draft saved", timeout=10_000)
    assert NoteDraft.objects.get(session=session, author=nurse).text == NOTE

    page.reload()
    expect(page.get_by_label("Note", exact=True)).to_have_value(NOTE)
    expect(page.locator("#id_note_help")).to_contain_text("Draft saved")
    assert problems == []
