"""The patient's phone, end to end in the system's Chromium (Playwright): a questionnaire link
opened at 390 × 844, item 9 answered above 0, crisis resources shown at once, and the alert in
the clinic's queue. Run alone with ``pytest -m browser``."""

import pytest
from django.utils import timezone

from trellis.accounts.permissions import Role
from trellis.lib.browser_testing import page_errors, signed_in_context
from trellis.measures import services
from trellis.measures.models import Measure
from trellis.safety.models import SafetyAlert
from trellis.testing import actor_for, make_clinic, make_patient, make_staff

PHONE = {"width": 390, "height": 844}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_item_nine_on_the_phone_shows_crisis_resources_and_reaches_the_alert_queue(
    live_server, chromium
):
    from playwright.sync_api import expect

    clinic = make_clinic("riverside", "Riverside Interventional Psychiatry", "RIV")
    nurse = make_staff("nurse", clinic, Role.NURSE)
    actor = actor_for(nurse, clinic)
    patient = make_patient(actor, "Margaret", "Hamilton")
    patient.phone = "+1 555 010 4477"
    patient.sms_consent_at = timezone.now()  # agreed to texts
    patient.save(update_fields=["phone", "sms_consent_at"])
    link = services.send_questionnaire_links(actor, patient, ["phq9"], "sms")[0]
    path = "/q/" + link.url.split("/q/")[1]

    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = page_errors(page)
    page.goto(live_server.url + path)

    # One questionnaire, nothing about the patient, and no sideways scrolling on a phone.
    expect(page.get_by_role("heading", name="Mood questionnaire (PHQ-9)")).to_be_visible()
    body = page.locator("body").inner_text()
    assert "Margaret" not in body and "Hamilton" not in body and patient.mrn not in body
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # Tap an answer for each item: several days for 1-8, more than half the days for item 9.
    for number in range(1, 9):
        page.locator(f"#q-item_{number}").get_by_text("Several days", exact=True).tap()
    item9 = page.locator("#q-item_9").get_by_text("More than half the days", exact=True)
    item9.scroll_into_view_if_needed()
    item9.tap()
    expect(page.locator("#id_item_9_2")).to_be_checked()
    page.get_by_role("button", name="Send my answers").tap()

    # Crisis resources at once, on the page that answers the submission.
    expect(page.get_by_role("heading", name="Please reach out now")).to_be_visible()
    expect(page.get_by_role("link", name="Call 988")).to_have_attribute("href", "tel:988")
    expect(page.get_by_role("link", name="Text 988")).to_have_attribute("href", "sms:988")
    expect(page.get_by_role("link", name="Call 911")).to_have_attribute("href", "tel:911")
    expect(page.get_by_text("988 Suicide & Crisis Lifeline")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    measure = Measure.objects.get()
    assert (measure.patient, measure.total, measure.suicide_item) == (patient, 10, 2)
    alert = SafetyAlert.objects.get()
    assert (alert.kind, alert.severity, alert.status) == ("suicide_item", "high", "open")

    # The clinic's alert queue shows it to a clinician.
    staff = signed_in_context(chromium, live_server, nurse, viewport={"width": 1280, "height": 860})
    queue = staff.new_page()
    errors += page_errors(queue)
    queue.goto(live_server.url + "/alerts/")
    row = queue.locator("tbody tr").filter(has_text="Margaret Hamilton")
    expect(row).to_be_visible()
    expect(row.get_by_text("High", exact=True)).to_be_visible()
    expect(row).to_contain_text("PHQ-9 item 9: thoughts of death or self-harm")
    assert errors == []
