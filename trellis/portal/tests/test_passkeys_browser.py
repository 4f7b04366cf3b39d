"""A patient's phone adds a passkey and signs in with it, end to end in the system's Chromium
at 390 × 844, with Chromium's virtual authenticator standing in for the phone's (a platform
authenticator that holds discoverable credentials and verifies its holder). Run alone with
``pytest -m browser``."""

import time

import pytest
from django.utils import timezone

from trellis.accounts.permissions import Role
from trellis.lib.browser_testing import axe_violations, page_errors
from trellis.portal import services, totp
from trellis.portal.models import PortalAccount, PortalPasskey
from trellis.testing import actor_for, make_clinic, make_patient, make_staff

PHONE = {"width": 390, "height": 844}
PASSWORD = "lantern orchard velvet 42"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def invited_patient():
    """Margaret, invited by the front desk: the invitation's token."""
    clinic = make_clinic("riverside", "Riverside Interventional Psychiatry", "RIV")
    desk = make_staff("frontdesk", clinic, Role.FRONT_DESK)
    patient = make_patient(actor_for(desk, clinic), "Margaret", "Hamilton")
    patient.email = "margaret@example.org"
    patient.save(update_fields=["email"])
    return services.invite(actor_for(desk, clinic), patient).token


def phone_with_authenticator(chromium):
    """A phone-size page whose device holds passkeys and verifies its holder."""
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return context, page


def test_a_patient_adds_a_passkey_on_the_phone_and_signs_in_with_it(live_server, chromium):
    from playwright.sync_api import expect

    account = services.accept_invitation(invited_patient(), login="margaret", password=PASSWORD)
    services.confirm_totp(account, totp.code_at(account.totp_key, time.time()))
    context, page = phone_with_authenticator(chromium)
    errors = page_errors(page)

    # No passkey on the device yet: the page says so.
    page.goto(live_server.url + "/portal/sign-in/")
    page.get_by_role("button", name="Sign in with a passkey").tap()
    expect(page.get_by_role("alert")).to_contain_text("This device has no passkey for Trellis")

    # First sign-in: password and the authenticator app's next code.
    page.get_by_label("Sign-in name").fill("margaret")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("6-digit code").fill(totp.code_at(account.totp_key, time.time() + totp.STEP))
    page.get_by_role("button", name="Sign in", exact=True).tap()
    expect(page.get_by_role("heading", name="Hello, Margaret")).to_be_visible()

    # Home offers a passkey; the Passkeys page makes one.
    page.get_by_role("link", name="Sign in faster with a passkey").tap()
    expect(page.get_by_role("heading", name="Passkeys", exact=True)).to_be_visible()
    page.get_by_label("A name for this device").fill("My phone")
    page.get_by_role("button", name="Add a passkey").tap()
    expect(page.get_by_text("Passkey “My phone” added")).to_be_visible()
    expect(page.get_by_role("button", name="Remove the passkey My phone")).to_be_visible()
    assert PortalPasskey.objects.filter(account=account, name="My phone").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert axe_violations(page) == []

    # Signed out, the passkey alone signs in: no name, password or code typed.
    page.get_by_role("button", name="Sign out").tap()
    page.get_by_role("button", name="Sign in with a passkey").tap()
    expect(page.get_by_role("heading", name="Hello, Margaret")).to_be_visible()
    passkey = PortalPasskey.objects.get(account=account)
    assert passkey.last_used_at is not None
    assert PortalAccount.objects.get(pk=account.pk).last_sign_in_at <= timezone.now()
    assert errors == []
    context.close()


def test_a_patient_sets_up_the_sign_in_with_a_passkey_instead_of_an_app(live_server, chromium):
    from playwright.sync_api import expect

    token = invited_patient()
    context, page = phone_with_authenticator(chromium)
    errors = page_errors(page)
    page.goto(f"{live_server.url}/portal/welcome/{token}/")
    page.get_by_label("Sign-in name").fill("margaret")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Continue").tap()
    page.get_by_role("button", name="Use a passkey instead").tap()
    expect(page.get_by_text("Your sign-in is ready. Sign in with your passkey.")).to_be_visible()
    account = PortalAccount.objects.get(login="margaret")
    assert account.ready and account.totp_confirmed_at is None
    page.get_by_role("button", name="Sign in with a passkey").tap()
    expect(page.get_by_role("heading", name="Hello, Margaret")).to_be_visible()
    assert errors == []
    context.close()
