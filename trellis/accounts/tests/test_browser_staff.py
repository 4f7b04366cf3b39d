"""A clinic administrator on a tablet, end to end in the system's Chromium (Playwright): the
Staff page from the navigation, an invitation, the new member's page, and the user menu's
password link. Run alone with ``pytest -m browser``."""

import pytest
from django.core import mail

from trellis.accounts.models import Membership
from trellis.accounts.permissions import Role
from trellis.lib.browser_testing import page_errors, signed_in_context
from trellis.testing import make_clinic, make_staff

TABLET = {"width": 768, "height": 1024}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_administrator_invites_a_nurse_from_a_tablet(live_server, chromium):
    from playwright.sync_api import expect

    clinic = make_clinic("riverside", "Riverside Interventional Psychiatry", "RIV")
    admin = make_staff("admin", clinic, Role.CLINIC_ADMIN)
    make_staff("therapist", clinic, Role.THERAPIST)

    context = signed_in_context(chromium, live_server, admin, viewport=TABLET)
    page = context.new_page()
    errors = page_errors(page)
    page.goto(live_server.url + "/patients/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Staff").click()
    expect(page.get_by_role("heading", name="Staff", exact=True)).to_be_visible()
    expect(page.locator("tbody tr")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]

    page.get_by_role("link", name="Invite a member of staff").click()
    page.get_by_label("Given name").fill("Mira")
    page.get_by_label("Family name").fill("Osei")
    page.get_by_label("E-mail").fill("mira@example.org")
    page.get_by_label("Username").fill("mira")
    page.get_by_label("Role at this clinic").select_option("nurse")
    page.get_by_role("button", name="Send the invitation").click()

    expect(page.get_by_role("heading", name="Mira Osei")).to_be_visible()
    expect(page.get_by_text("Invitation sent to mira@example.org")).to_be_visible()
    expect(page.get_by_text("No password chosen yet")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    assert Membership.objects.get(user__username="mira").role == Role.NURSE
    assert [m.to for m in mail.outbox] == [["mira@example.org"]]

    page.locator(".usermenu-more summary").click()
    page.get_by_role("link", name="Change password").click()
    expect(page.get_by_role("heading", name="Change password")).to_be_visible()
    assert errors == []
