"""The patient's portal on a phone, end to end in the system's Chromium (Playwright): at
390 × 844 a patient signs in through the real sign-in page (password and authenticator code),
answers a due PHQ-9, writes a journal entry shared with the care team, asks for an appointment
and to change the time of one; every page has no serious or critical WCAG 2.1 AA violation
(axe-core), no script error and no sideways scrolling. Run alone with ``pytest -m browser``."""

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from trellis.accounts.permissions import Role
from trellis.aftercare import services as aftercare
from trellis.aftercare.models import CheckIn, JournalEntry
from trellis.lib.browser_testing import axe_violations, page_errors
from trellis.measures.models import Measure, ScheduledMeasure
from trellis.patients import services as patient_services
from trellis.patients.tests.test_api import SAFE_ANSWERS, TRD_TRIALS
from trellis.portal import education, services, totp
from trellis.portal.models import EducationPage, PortalAccount, PortalRequest, RequestKind
from trellis.scheduling.models import Appointment
from trellis.testing import (
    actor_for,
    make_clinic,
    make_patient,
    make_staff,
    restore_builtin_protocols,
)
from trellis.treatments import services as course_services

PHONE = {"width": 390, "height": 844}
PASSWORD = "lantern orchard velvet 42"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _patient_with_sign_in():
    """A patient in an IV ketamine course with a PHQ-9 due today, a follow-up booked in three
    days, and a portal sign-in whose authenticator was enrolled a minute ago."""
    restore_builtin_protocols()
    clinic = make_clinic("riverside", "Riverside Interventional Psychiatry", "RIV")
    clinic.phone = "+1 555 010 2000"
    clinic.save(update_fields=["phone"])
    prescriber = make_staff("prescriber", clinic, Role.PRESCRIBER)
    front_desk = make_staff("frontdesk", clinic, Role.FRONT_DESK)
    actor = actor_for(prescriber, clinic)
    patient = make_patient(actor, "Margaret", "Hamilton")
    patient.email = "margaret@example.org"
    patient.save(update_fields=["email"])
    screening = patient_services.create_screening(actor, patient, SAFE_ANSWERS, TRD_TRIALS)
    patient_services.sign_screening(actor, screening)
    today = clinic.today()
    course = course_services.start_course(
        actor, patient, "ketamine-iv-induction", today - timedelta(days=14)
    )
    due = ScheduledMeasure.objects.create(
        clinic=clinic,
        patient=patient,
        course=course,
        key="browser-check",
        occasion="weekly",
        label="Weekly",
        instrument="phq9",
        opens_on=today - timedelta(days=1),
        due_on=today,
        closes_on=today + timedelta(days=3),
    )
    # Whatever else the course planned is answered already: one PHQ-9 is due, ours.
    ScheduledMeasure.objects.filter(patient=patient).exclude(pk=due.pk).delete()
    start = timezone.now() + timedelta(days=3)
    follow_up = Appointment.objects.create(
        clinic=clinic,
        patient=patient,
        kind="follow_up",
        start=start,
        end=start + timedelta(minutes=30),
        day=timezone.localtime(start, clinic.tzinfo).date(),
        created_by=front_desk,
    )
    # The clinic's education library, published after a prescriber's review.
    education.load_shipped(clinic)
    for page in EducationPage.objects.filter(clinic=clinic):
        education.publish_page(actor, education.review_page(actor, page))
    # A check-in the care team sent, open in the portal as by its link.
    aftercare.send_check_in(actor, patient)
    sent = services.invite(actor_for(front_desk, clinic), patient)
    account = services.accept_invitation(sent.token, login="margaret", password=PASSWORD)
    enrolled = time.time() - 2 * totp.STEP  # a minute ago: the next codes are still unused
    services.confirm_totp(account, totp.code_at(account.totp_key, enrolled), now=enrolled)
    return patient, PortalAccount.objects.get(pk=account.pk), due, follow_up


def open_from_menu(page, name: str) -> None:
    """On a phone the portal's links are in its Menu: open it, then follow the link."""
    page.locator("details.portal-menu summary").tap()
    page.get_by_role("navigation", name="Your portal").get_by_role("link", name=name).tap()


def test_a_patient_on_a_phone_uses_the_portal_and_every_page_passes_axe(live_server, chromium):
    from playwright.sync_api import expect

    patient, account, due, follow_up = _patient_with_sign_in()
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = page_errors(page)
    problems: dict[str, list[str]] = {}

    def check(name: str) -> None:
        """The page as it stands: axe's serious and critical findings, and its width."""
        page.wait_for_load_state()
        found = axe_violations(page)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            found.append(f"scrolls sideways: {width} px wide")
        if found:
            problems[name] = found

    # The real sign-in page: name, password and the code the authenticator shows now.
    page.goto(live_server.url + "/portal/")
    expect(page).to_have_url(re.compile(r"/portal/sign-in/"))
    check("sign-in")
    page.get_by_label("Sign-in name").fill("margaret")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("6-digit code").fill(totp.code_at(account.totp_key, time.time()))
    page.get_by_role("button", name="Sign in", exact=True).tap()
    expect(page.get_by_role("heading", name="Hello, Margaret")).to_be_visible()
    check("home")

    # The due PHQ-9, tapped through: not at all for every item.
    page.get_by_role("link", name=re.compile("PHQ-9")).first.tap()
    expect(page).to_have_url(re.compile(f"/portal/questionnaires/{due.id}/"))
    check("questionnaire")
    for number in range(1, 10):
        choice = page.locator(f"#q-item_{number}").get_by_text("Not at all", exact=True)
        choice.scroll_into_view_if_needed()
        choice.tap()
    page.get_by_role("button", name="Send my answers").tap()
    expect(page.get_by_role("heading", name=re.compile("Thank you"))).to_be_visible()
    check("questionnaire done")
    measure = Measure.objects.get(patient=patient)
    assert (measure.instrument, measure.total) == ("phq9", 0)

    open_from_menu(page, "My scores")
    expect(page.get_by_role("heading", name="My scores over time")).to_be_visible()
    check("scores")

    open_from_menu(page, "Aftercare")
    expect(page).to_have_url(re.compile("/portal/aftercare/"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    check("aftercare")

    # The open check-in, answered here rather than by its link.
    page.get_by_role("link", name=re.compile("How are you since your treatment")).tap()
    expect(page).to_have_url(re.compile("/portal/check-ins/"))
    check("check-in")
    for question, answer in (("mood", "7"), ("sleep", "Well"), ("harm_thoughts", "No")):
        choice = page.locator(f"#q-{question}").get_by_text(answer, exact=True)
        choice.scroll_into_view_if_needed()
        choice.tap()
    page.get_by_role("button", name="Send my check-in").tap()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    check("check-in done")
    assert CheckIn.objects.get(patient=patient).mood == 7

    # A journal entry shared with the care team.
    open_from_menu(page, "Journal")
    expect(page.get_by_role("heading", name="My journal")).to_be_visible()
    check("journal")
    page.get_by_label("Your entry").fill("Slept well after the walk. Felt steadier at work.")
    page.get_by_text("Me and my care team").tap()
    page.get_by_role("button", name="Save entry").tap()
    expect(page.get_by_text("Saved in your journal.")).to_be_visible()
    check("journal saved")
    entry = JournalEntry.objects.get(patient=patient)
    assert entry.shared is True

    # Appointments: ask for a therapy session, then to change the booked follow-up's time.
    open_from_menu(page, "Appointments")
    expect(page.get_by_role("heading", name="My appointments")).to_be_visible()
    expect(page.get_by_text("Follow-up visit", exact=True)).to_be_visible()
    check("appointments")
    page.get_by_text("A therapy session").tap()
    page.get_by_label("Days and times that suit you (optional)").fill("Weekday evenings")
    page.get_by_label("Message to the clinic (optional)").fill("I would like to restart therapy.")
    page.get_by_role("button", name="Send my request").tap()
    expect(page.get_by_text("Your request is sent.")).to_be_visible()
    expect(page.get_by_text("Asked for a therapy session")).to_be_visible()
    check("appointments after asking")

    page.get_by_role("link", name=re.compile("Ask to change the time")).tap()
    expect(page.get_by_role("heading", name="Ask to change the time")).to_be_visible()
    check("ask to change the time")
    page.get_by_label("Days and times that suit you (optional)").fill("Friday morning")
    page.get_by_role("button", name="Send my request for another time").tap()
    expect(page.get_by_text("You have asked to change the time.")).to_be_visible()
    check("appointments after asking to change")

    # A message to the care team, with the notice that the portal is not for emergencies.
    open_from_menu(page, "Messages")
    expect(page.get_by_text("not monitored for emergencies").first).to_be_visible()
    check("messages")
    page.get_by_role("link", name="New message").tap()
    expect(page.get_by_role("heading", name="New message")).to_be_visible()
    check("new message")
    page.get_by_label("Subject").fill("Parking")
    page.get_by_label("Your message").fill("Is there parking for patients near the clinic?")
    page.get_by_role("button", name="Send message").tap()
    expect(page.get_by_text("Is there parking for patients near the clinic?")).to_be_visible()
    check("conversation")
    open_from_menu(page, "Messages")
    page.get_by_role("link", name="Notification settings").tap()
    expect(page).to_have_url(re.compile(r"/portal/notifications/$"))
    check("notification settings")

    # The education library: the IV page is the patient's; the TMS one is not offered.
    open_from_menu(page, "Learn")
    expect(page.get_by_role("link", name="What an IV ketamine infusion is like")).to_be_visible()
    expect(page.get_by_role("link", name="What a TMS session is like")).to_have_count(0)
    check("learn")
    page.get_by_role("link", name="What an IV ketamine infusion is like").tap()
    expect(page.get_by_text(re.compile("Reviewed by"))).to_be_visible()
    check("an education page")
    open_from_menu(page, "Groups")
    expect(page).to_have_url(re.compile(r"/portal/groups/$"))
    check("groups")

    asked = PortalRequest.objects.filter(patient=patient).order_by("created_at")
    assert [(r.kind, r.appointment_kind, r.appointment_id) for r in asked] == [
        (RequestKind.APPOINTMENT, "therapy", None),
        (RequestKind.RESCHEDULE, "", follow_up.pk),
    ]
    assert problems == {}
    assert errors == []
