"""What every page carries in its head: the favicon, and nothing the Content Security Policy
refuses (no inline script or style, no eval, htmx's indicator styles from the style sheet)."""

import re
import time
from pathlib import Path

from django.conf import settings

from trellis.accounts.middleware import SESSION_LAST_SEEN
from trellis.testing import TrellisTestCase

TEMPLATES = Path(settings.BASE_DIR) / "templates"
STATIC = Path(settings.BASE_DIR) / "static"


class FaviconTests(TrellisTestCase):
    def test_staff_and_public_pages_link_the_svg_favicon(self):
        link = '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
        self.assertContains(self.client.get("/accounts/login/"), link)
        self.assertContains(self.client.get(f"/request/{self.clinic_a.slug}/"), link)

    def test_the_favicon_is_served(self):
        response = self.client.get("/static/favicon.svg")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "image/svg+xml")
        self.assertIn(b"<svg", b"".join(response.streaming_content))

    def test_favicon_ico_is_not_a_404(self):
        response = self.client.get("/favicon.ico")
        self.assertRedirects(response, "/static/favicon.svg", fetch_redirect_response=False)
        self.assertEqual(self.client.head("/favicon.ico").status_code, 302)

    def test_the_browser_asking_for_the_favicon_is_not_activity(self):
        self.sign_in(self.nurse)
        self.client.get("/")
        session = self.client.session
        session[SESSION_LAST_SEEN] = time.time() - 16 * 60
        session.save()
        self.client.get("/favicon.ico")
        self.assertEqual(self.client.get("/").status_code, 302)


class ContentSecurityPolicyTests(TrellisTestCase):
    def test_the_policy_allows_no_inline_code_or_eval(self):
        policy = self.client.get("/accounts/login/")["Content-Security-Policy"]
        self.assertIn("script-src 'self'", policy)
        self.assertIn("style-src 'self'", policy)
        self.assertNotIn("unsafe-inline", policy)
        self.assertNotIn("unsafe-eval", policy)

    def test_htmx_is_told_not_to_inject_styles_or_eval(self):
        page = self.client.get("/accounts/login/").content.decode()
        self.assertIn('"includeIndicatorStyles": false', page)
        self.assertIn('"allowEval": false', page)
        self.assertIn(".htmx-indicator", (STATIC / "css" / "trellis.css").read_text())

    def test_no_template_has_inline_script_style_or_handlers(self):
        forbidden = [
            (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>"), "inline <script>"),
            (re.compile(r"<style\b"), "<style> element"),
            (re.compile(r"\sstyle=[\"']"), "style attribute"),
            (re.compile(r"\son[a-z]+=[\"']"), "event handler attribute"),
            (re.compile(r"\shx-on[:-]"), "hx-on (needs eval)"),
            (re.compile(r"javascript:"), "javascript: URL"),
        ]
        for template in sorted(TEMPLATES.rglob("*.html")):
            text = template.read_text()
            if _pdf_document(template, text):
                continue  # laid out by WeasyPrint into a PDF, never served to a browser
            for pattern, what in forbidden:
                with self.subTest(template=str(template.relative_to(TEMPLATES)), rule=what):
                    self.assertIsNone(pattern.search(text))


def _pdf_document(template, text: str) -> bool:
    return template == TEMPLATES / "includes" / "pdf_base.html" or text.lstrip().startswith(
        '{% extends "includes/pdf_base.html" %}'
    )
