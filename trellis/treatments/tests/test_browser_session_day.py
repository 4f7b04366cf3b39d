"""A day at the chair, end to end in the system's Chromium (Playwright), as staff walk it: the
nurse begins today's IV ketamine session, the pre-dose hold refuses her dosing start, a
prescriber at another workstation overrides it with a reason, the nurse's note is kept as a
draft through an idle sign-out and comes back after she signs in again (password and
authenticator code). No console or Content Security Policy error on the way. Run alone with
``pytest -m browser``."""

import os
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.forms.models import model_to_dict
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from trellis.accounts.middleware import SESSION_LAST_SEEN
from trellis.accounts.permissions import Role
from trellis.lib.browser_testing import page_errors, signed_in_context
from trellis.patients import services as patient_services
from trellis.patients.tests.test_api import TRD_TRIALS
from trellis.testing import (
    PASSWORD,
    SAFE_ANSWERS,
    actor_for,
    make_clinic,
    make_patient,
    make_staff,
    restore_builtin_protocols,
)
from trellis.treatments import services
from trellis.treatments.models import (
    InfusionRecord,
    NoteDraft,
    SafetyOverride,
    SessionStatus,
    VitalSign,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESK = {"width": 1280, "height": 900}
HOLD = "cannot start at a pre-dose blood pressure of 170/105"
REASON = "Rechecked 10 min later at 158/96; chronic hypertension, on treatment. Proceed."
NOTE = "Calm at start; mild dissociation at 20 min, easing by 35. Escort in waiting room."
WAIT = 10_000  # ms: a page, or the note's draft 2 s after typing stops


def _screenshot(page, name: str) -> None:
    """With TRELLIS_BROWSER_SHOTS naming a directory, keep a picture of the page there."""
    folder = os.environ.get("TRELLIS_BROWSER_SHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"session-day-{name}.png"), full_page=True)


def test_a_session_day_hold_override_draft_and_idle_sign_out(live_server, chromium):
    from playwright.sync_api import expect

    restore_builtin_protocols()
    clinic = make_clinic("riverside", "Riverside Interventional Psychiatry", "RIV")
    prescriber = make_staff("prescriber", clinic, Role.PRESCRIBER)
    nurse = make_staff("nurse", clinic, Role.NURSE)
    prescribing = actor_for(prescriber, clinic)
    patient = make_patient(prescribing, "Tara", "Castillo")
    screening = patient_services.create_screening(prescribing, patient, SAFE_ANSWERS, TRD_TRIALS)
    patient_services.sign_screening(prescribing, screening)
    today = clinic.today()
    patient_services.record_measurement(prescribing, patient, measured_on=today, weight_kg=80)
    course = services.start_course(prescribing, patient, "ketamine-iv-induction", today)
    session = course.sessions.order_by("number").first()
    session.planned_date = today  # the course's first session is today, whatever the weekday
    session.save(update_fields=["planned_date"])
    url = f"{live_server.url}/sessions/{session.id}/"

    nurse_desk = signed_in_context(chromium, live_server, nurse, viewport=DESK)
    page = nurse_desk.new_page()
    problems = page_errors(page, refused=f"/sessions/{session.id}/save/")

    # 1. From today's list the nurse opens the session and begins it.
    page.goto(f"{live_server.url}/sessions/today/")
    page.get_by_role("link", name="Open session 1 for Tara Castillo").click()
    expect(page).to_have_url(url)
    expect(page.get_by_role("heading", name="Session 1 of")).to_be_visible()
    page.get_by_role("button", name="Begin session 1").click()
    expect(page.locator(".badge", has_text="In progress")).to_be_visible()
    expect(page.get_by_text("this page keeps you signed in")).to_be_visible()
    session.refresh_from_db()
    assert session.status == SessionStatus.IN_PROGRESS

    # 2. A pre-dose BP of 170/105, then the infusion's start: refused, nothing of it saved.
    vitals = page.locator("#vitals")
    vitals.get_by_label("When").select_option("pre-dose")
    vitals.get_by_label("Systolic").fill("170")
    vitals.get_by_label("Diastolic").fill("105")
    vitals.get_by_role("button", name="Add vitals").click()
    expect(vitals.locator("tbody tr", has_text="pre-dose")).to_contain_text("170/105")
    record_before = model_to_dict(InfusionRecord.objects.get(session=session))
    start = timezone.localtime(timezone.now(), clinic.tzinfo).strftime("%H:%M")
    page.get_by_label("Infusion started").fill(start)
    page.get_by_role("button", name="Save note").click()

    banner = page.locator("#problems")
    expect(banner).to_be_visible()
    expect(page.locator(".safety-banner")).to_have_count(1)
    expect(banner.get_by_role("heading")).to_have_text("Refused: the note was not saved")
    expect(banner.get_by_role("listitem")).to_have_count(1)
    expect(banner.get_by_role("listitem")).to_contain_text(f"Infusion started: dosing {HOLD}")
    expect(banner).to_contain_text("Only a prescriber may override this stop")
    expect(banner.get_by_role("button", name="Override and save")).to_have_count(0)
    expect(page.get_by_text("Check before you go on")).to_have_count(0)  # said once, above
    _screenshot(page, "1-refused")
    assert model_to_dict(InfusionRecord.objects.get(session=session)) == record_before
    assert record_before["infusion_started_at"] is None
    assert not SafetyOverride.objects.exists()
    reading = VitalSign.objects.get(session=session)  # the reading itself is kept
    assert (reading.label, reading.bp_systolic, reading.bp_diastolic) == ("pre-dose", 170, 105)

    # 3. A prescriber at another workstation opens the session, is refused the same way, and
    # overrides the hold with a reason.
    prescriber_desk = signed_in_context(chromium, live_server, prescriber, viewport=DESK)
    overriding = prescriber_desk.new_page()
    problems += page_errors(overriding, refused=f"/sessions/{session.id}/save/")
    overriding.goto(url)
    overriding.get_by_label("Infusion started").fill(start)
    overriding.get_by_role("button", name="Save note").click()
    override_banner = overriding.locator("#problems")
    expect(override_banner.get_by_role("listitem")).to_contain_text(HOLD)
    override_banner.get_by_label("Prescriber's reason to override").fill(REASON)
    override_banner.get_by_role("button", name="Override and save").click()
    expect(overriding).to_have_url(url)
    expect(overriding.locator("#problems")).to_have_count(0)
    shown = overriding.locator("section", has_text="Safety stops overridden on this session")
    expect(shown).to_contain_text(HOLD)
    expect(shown).to_contain_text("Overridden by Prescriber")
    expect(shown).to_contain_text(REASON)
    _screenshot(overriding, "2-overridden")
    override = SafetyOverride.objects.get(session=session)
    assert (override.rule, override.reason, override.prescriber) == (
        "predose_bp_hold",
        REASON,
        prescriber,
    )
    record = InfusionRecord.objects.get(session=session)
    started = timezone.localtime(record.infusion_started_at, clinic.tzinfo)
    assert started.strftime("%H:%M") == start

    # 4. Back at the chair the nurse goes on documenting on the page she has open: her note is
    # kept as a draft.
    note = page.get_by_label("Nursing note", exact=True)
    note.click()
    note.press_sequentially(NOTE, delay=5)
    expect(page.locator("#id_note_help")).to_contain_text("Draft saved", timeout=WAIT)
    # Leaving the field keeps the draft once more ("blur changed"). Let it finish first: the
    # test server's request threads share one in-memory SQLite connection, and a draft saved
    # while the next page loads can find its tables locked (not so on a real database).
    with page.expect_response(lambda response: response.url.endswith("/note-draft/")):
        note.blur()
    assert NoteDraft.objects.get(session=session, author=nurse).text == NOTE

    # 5. The nurse goes idle. On the session's own page the keep-alive would rightly keep her
    # signed in (a session in progress must not be cut short), so she leaves it for the
    # course's page, which has no keep-alive: that is where idle sign-out really happens, and
    # no ping can race with the clock set back below. The clinic signs staff out after 2
    # minutes; her sign-in was last seen 3 minutes ago.
    page.get_by_role("link", name="Course").click()
    expect(page.get_by_role("link", name="Open session 1 (in progress)")).to_be_visible()
    clinic.settings = {**clinic.settings, "idle_logoff_minutes": 2}
    clinic.save(update_fields=["settings"])
    cookie = next(c for c in nurse_desk.cookies() if c["name"] == settings.SESSION_COOKIE_NAME)
    stored = SessionStore(session_key=cookie["value"])
    assert stored.get(SESSION_LAST_SEEN) is not None
    stored[SESSION_LAST_SEEN] = time.time() - 3 * 60
    stored.save()
    page.get_by_role("link", name="Open session 1 (in progress)").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    signing_in = urlsplit(page.url)
    assert signing_in.path == "/accounts/login/"
    assert parse_qs(signing_in.query)["next"] == [f"/sessions/{session.id}/"]
    expect(
        page.get_by_text("You were signed out after 2 minutes without activity.")
    ).to_be_visible()

    # 6. She signs in again, password then authenticator code, and is back on the session
    # with her note as she typed it.
    page.get_by_label("Username").fill("nurse")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Two-step sign-in")).to_be_visible()
    device = TOTPDevice.objects.get(user=nurse)
    code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    page.get_by_label("Six-digit code from your authenticator app").fill(f"{code:06d}")
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(url)
    expect(page.get_by_label("Nursing note", exact=True)).to_have_value(NOTE)
    expect(page.get_by_label("Infusion started")).to_have_value(start)
    expect(page.locator("#id_note_help")).to_contain_text("Draft saved")
    expect(page.get_by_text("Safety stops overridden on this session")).to_be_visible()
    _screenshot(page, "3-signed-in-again")
    assert InfusionRecord.objects.get(session=session).note == ""  # a draft until she saves it
    assert problems == []
