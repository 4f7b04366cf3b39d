"""Browser tests in the system's Chromium (Playwright): the ``chromium`` fixture, a signed-in
staff cookie, and the page's errors to assert there are none.

A pytest plugin (the root conftest.py names it), so that every ``-m browser`` test gets the
fixture without importing it. Nothing here imports Django or Playwright until a test asks:
pure-module tests run without Django.
"""

from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def chromium(monkeypatch):
    """The system's Chromium through Playwright.

    Playwright's sync API runs an event loop in this thread, and Django keeps a thread's
    database connections per context: the ones opened inside Playwright's context are closed
    inside it, and the ones from before are closed before it starts, so that no session is
    left open when the test database is dropped.
    """
    from django.db import connections
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is not at {CHROMIUM}: `make test` installs Debian's chromium")
    connections.close_all()
    # Playwright's sync API runs an event loop in this thread; the ORM calls around it are
    # ordinary synchronous test code. Only for this test: `check --deploy` refuses the flag.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            connections.close_all()


def signed_in_cookie(user) -> str:
    """A staff session with a verified second factor, as after a real sign-in: the value of
    the session cookie. The user's authenticator is a TOTP device named "browser test"."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, name="browser test", defaults={"confirmed": True}
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return session.session_key


def signed_in_context(browser, live_server, user, **options):
    """A browser context (its own cookies: one person at one workstation) signed in as
    ``user``."""
    from django.conf import settings

    context = browser.new_context(**options)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": signed_in_cookie(user),
                "url": live_server.url,
            }
        ]
    )
    return context


def page_errors(page, *, refused: str = "") -> list[str]:
    """The list that collects the page's console errors (a Content Security Policy refusal
    among them) and uncaught script errors from now on; assert it stays empty.

    ``refused``: the path of a form whose refusal answers 422 on purpose (the page says what to
    correct); Chromium's console notes that status, which is not an error of the page.
    """
    errors: list[str] = []

    def console(message) -> None:
        if message.type != "error":
            return
        if (
            refused
            and message.text.startswith(_REFUSED)
            and urlsplit(message.location.get("url", "")).path == refused
        ):
            return
        errors.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


_REFUSED = "Failed to load resource: the server responded with a status of 422"


AXE = Path(__file__).parent / "tests" / "vendor" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page, *, impacts=("serious", "critical")) -> list[str]:
    """Run the vendored axe-core on the page as it stands and return its WCAG 2.1 A/AA
    violations of the given impacts, one line each (rule, impact, the first offending
    elements): assert the list is empty.

    The script is added through Playwright's own channel, not a <script> of the page, so the
    page's Content Security Policy stays as it is served.
    """
    page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:3])
        for v in results["violations"]
        if v["impact"] in impacts
    ]
