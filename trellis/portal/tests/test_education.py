"""The education library: the shipped pages read at a 6th–8th-grade level and cite only
sources that exist; the small Markdown is rendered safely; a page reaches patients only once a
named clinician has reviewed it as it stands; patients see the pages for their treatments,
of their own clinic, and nothing else."""

from contextlib import contextmanager
from unittest import mock

import pytest
import textstat
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import SimpleTestCase
from django.test.utils import CaptureQueriesContext
from textstat.backend.counts import _count_syllables

from trellis.audit.models import AuditEvent
from trellis.lib import sources
from trellis.lib.errors import Conflict, InputError
from trellis.patients import services as patient_services
from trellis.patients.tests.test_api import SAFE_ANSWERS, TRD_TRIALS
from trellis.portal import education, markup
from trellis.portal.models import EducationPage, EducationStatus
from trellis.portal.tests.base import PortalTestCase
from trellis.testing import actor_for
from trellis.treatments import services as course_services

SHIPPED = education.shipped_pages()


@contextmanager
def offline_syllables():
    """textstat looks English words up in the CMU dictionary, which NLTK downloads on first
    use; nothing can be downloaded here, so every word takes textstat's own fallback for
    words the dictionary lacks (Pyphen's en_US hyphenation). That counts a few syllables
    fewer (``medicine`` as 1), which is why the ceiling is 8.0 and not 8.9."""
    with mock.patch.object(_count_syllables, "get_cmudict", lambda lang: None):
        yield


def grade(text: str) -> float:
    with offline_syllables():
        return textstat.flesch_kincaid_grade(text)


# --- The shipped pages -----------------------------------------------------------------------


def test_the_library_covers_what_patients_ask_about():
    slugs = {page.slug for page in SHIPPED}
    assert len(slugs) == len(SHIPPED), "two shipped pages share a slug"
    assert {
        "how-ketamine-and-esketamine-work",
        "what-an-iv-infusion-is-like",
        "what-a-spravato-visit-is-like",
        "what-a-tms-session-is-like",
        "getting-ready-for-ketamine-or-esketamine",
        "getting-ready-for-tms",
        "driving-after-your-session",
        "aftercare",
        "costs-and-insurance",
        "when-to-get-help",
    } <= slugs


@pytest.mark.parametrize("page", SHIPPED, ids=[page.slug for page in SHIPPED])
def test_every_shipped_page_reads_at_a_6th_to_8th_grade_level(page):
    assert markup.reading_problems(page.body, grade) == []
    assert grade(markup.plain_text(page.body)) <= markup.GRADE_MAX


@pytest.mark.parametrize("page", SHIPPED, ids=[page.slug for page in SHIPPED])
def test_every_shipped_page_cites_sources_that_exist(page):
    cited = sources.numbers(page.body)
    assert len(cited) >= 3, "a page of facts cites where they come from"
    assert set(cited) <= set(sources.all_sources())
    # No heading carries a citation (headings are left out of the reading level, and a
    # citation belongs to the sentence that states the fact).
    for block in markup.blocks(page.body):
        if block.kind in ("h2", "h3"):
            assert not sources.numbers(block.lines[0]), block.lines[0]


def test_a_hard_paragraph_fails_the_reading_level_even_among_easy_ones():
    easy = next(page for page in SHIPPED if page.slug == "aftercare").body
    hard = (
        "Esketamine administration necessitates post-administration observation of at least "
        "two hours with hemodynamic monitoring, because transient hypertension, sedation and "
        "dissociative phenomena commonly occur following intranasal administration in "
        "treatment-resistant depression, particularly during the induction phase [R16]."
    )
    assert markup.reading_problems(easy, grade) == []
    problems = markup.reading_problems(f"{easy}\n\n{hard}", grade)
    assert any(problem.startswith("a paragraph reads at grade") for problem in problems)
    assert markup.reading_problems(hard, grade)  # and alone, the page is too hard


def test_the_reading_level_leaves_out_headings_citations_and_markup():
    body = "## A very considerable heading\nThe **dose** takes 40 minutes [R1, R11].\n\n- Rest"
    assert markup.plain_text(body) == "The dose takes 40 minutes.\n\nRest."


# --- The small Markdown ------------------------------------------------------------------------


class RenderTests(SimpleTestCase):
    def test_headings_paragraphs_lists_and_bold(self):
        body = "## Before\nLine one\nline two.\n\n- **Rest** well.\n- Drink water.\n\n1. First."
        self.assertEqual(
            markup.render(body),
            "<h2>Before</h2>\n<p>Line one line two.</p>\n"
            "<ul><li><strong>Rest</strong> well.</li><li>Drink water.</li></ul>\n"
            "<ol><li>First.</li></ol>",
        )

    def test_it_escapes_every_tag_and_attribute_a_page_could_carry(self):
        body = (
            '## <img src=x onerror="alert(1)">\n'
            "<script>alert('x')</script> and **<b>bold</b>**\n\n"
            '- <a href="javascript:alert(1)">link</a>'
        )
        html = markup.render(body)
        self.assertNotIn("<script", html)
        self.assertNotIn("<img", html)
        self.assertNotIn("<a ", html)
        self.assertNotIn("<b>", html)
        self.assertIn("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;", html)
        self.assertIn("<strong>&lt;b&gt;bold&lt;/b&gt;</strong>", html)
        self.assertIn("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;", html)

    def test_citations_become_numbered_links_to_the_pages_list_of_sources(self):
        rendered = education.render("Stay 2 hours [R16, R28]. Check the pressure [R16].")
        self.assertEqual([cite.number for cite in rendered.cited], [16, 28])
        self.assertIn(
            '<a href="#source-r16" aria-label="Source 1: Spravato label 2019">1</a>', rendered.html
        )
        self.assertIn('href="#source-r28"', rendered.html)
        self.assertIn('hours<sup class="cite-marks">', rendered.html)  # no space before it
        self.assertNotIn("[R16", rendered.html)

    def test_a_page_file_needs_its_front_matter(self):
        with self.assertRaises(markup.PageFormatError) as raised:
            markup.parse("---\nslug: a\ntitle: A\ntreatments: tms\n---\nText.")
        self.assertEqual(raised.exception.field, "summary")
        with self.assertRaises(markup.PageFormatError) as raised:
            markup.parse("---\nslug: a\ntitle: A\ntreatments: ect\nsummary: S\n---\nText.")
        self.assertEqual(raised.exception.field, "treatments")


# --- Review, publishing and what patients see ---------------------------------------------------


class EducationTestCase(PortalTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.prescriber.first_name, cls.prescriber.last_name = "Priya", "Raman"
        cls.prescriber.credentials = "MD"
        cls.prescriber.save()
        cls.admin_actor = actor_for(cls.admin, cls.clinic_a)
        # Grace has a TMS course; Ada (the base case) an IV ketamine induction.
        screening = patient_services.create_screening(
            cls.prescriber_actor, cls.other_patient, SAFE_ANSWERS, TRD_TRIALS
        )
        patient_services.sign_screening(cls.prescriber_actor, screening)
        cls.other_patient.email = "grace@example.org"
        cls.other_patient.save(update_fields=["email"])
        course_services.start_course(
            cls.prescriber_actor, cls.other_patient, "tms-10hz", cls.clinic_a.today()
        )
        education.load_shipped(cls.clinic_a, cls.admin_actor)
        for page in EducationPage.objects.filter(clinic=cls.clinic_a):
            education.review_page(cls.prescriber_actor, page)
            education.publish_page(cls.admin_actor, page)

    def page(self, slug: str) -> EducationPage:
        return EducationPage.objects.get(clinic=self.clinic_a, slug=slug)


class PatientLibraryTests(EducationTestCase):
    def test_a_tms_patient_sees_tms_preparation_and_not_the_infusion_page(self):
        browser, _ = self.enrol(self.other_patient, self.front_desk, "grace")
        library = browser.get("/portal/learn/")
        self.assertContains(library, 'href="/portal/learn/getting-ready-for-tms/"')
        self.assertContains(library, 'href="/portal/learn/what-a-tms-session-is-like/"')
        self.assertContains(library, 'href="/portal/learn/when-to-get-help/"')
        self.assertNotContains(library, "what-an-iv-infusion-is-like")
        self.assertNotContains(library, "what-a-spravato-visit-is-like")
        # In the library's own order: what the treatment is before getting ready for it.
        html = library.content.decode()
        self.assertLess(
            html.index("what-a-tms-session-is-like"), html.index("getting-ready-for-tms")
        )
        self.assertEqual(browser.get("/portal/learn/what-an-iv-infusion-is-like/").status_code, 404)
        self.assertEqual(browser.get("/portal/learn/getting-ready-for-tms/").status_code, 200)

    def test_an_infusion_patient_sees_the_infusion_page_and_not_tms_preparation(self):
        browser, _ = self.enrol(self.patient, self.front_desk, "ada")
        library = browser.get("/portal/learn/")
        self.assertContains(library, 'href="/portal/learn/what-an-iv-infusion-is-like/"')
        self.assertNotContains(library, "getting-ready-for-tms")
        self.assertEqual(browser.get("/portal/learn/getting-ready-for-tms/").status_code, 404)

    def test_the_page_names_its_reviewer_and_date_and_its_sources_readably(self):
        browser, _ = self.enrol(self.patient, self.front_desk, "ada")
        response = browser.get("/portal/learn/what-an-iv-infusion-is-like/")
        today = self.clinic_a.today()
        self.assertContains(
            response, f"Reviewed by Priya Raman, MD on {today:%B} {today.day}, {today.year}"
        )
        self.assertContains(response, '<li id="source-r10"><strong>Ketamine injection labels')
        self.assertContains(response, 'href="#source-r10"')
        self.assertNotContains(response, "[R10")
        self.assertEqual(response["Cache-Control"], "no-store, private")

    def test_drafts_and_other_clinics_pages_do_not_exist_for_the_patient(self):
        page = self.page("aftercare")
        education.withdraw_page(self.admin_actor, page)
        EducationPage.objects.create(
            clinic=self.clinic_b,
            slug="beta-only",
            title="Beta's own page",
            summary="Only for Beta's patients.",
            body="Text [R1].",
            treatments=["all"],
            status=EducationStatus.PUBLISHED,
            reviewed_by=self.prescriber_b,
            reviewed_on=self.clinic_b.today(),
        )
        browser, _ = self.enrol(self.patient, self.front_desk, "ada")
        self.assertNotContains(browser.get("/portal/learn/"), "/portal/learn/aftercare/")
        self.assertEqual(browser.get("/portal/learn/aftercare/").status_code, 404)
        self.assertEqual(browser.get("/portal/learn/beta-only/").status_code, 404)

    def test_signed_out_visitors_and_staff_are_sent_to_the_portal_sign_in(self):
        response = self.client.get("/portal/learn/aftercare/")
        self.assertEqual(response.status_code, 302)
        self.assertIn("/portal/sign-in/", response["Location"])
        self.sign_in(self.prescriber)
        self.assertEqual(self.client.get("/portal/learn/").status_code, 302)

    def test_each_read_is_audited_under_the_portal(self):
        browser, _ = self.enrol(self.patient, self.front_desk, "ada")
        browser.get("/portal/learn/aftercare/")
        event = AuditEvent.objects.filter(patient=self.patient).order_by("-seq").first()
        self.assertEqual(event.detail, {"portal": "learn:aftercare"})


class ReviewTests(EducationTestCase):
    def test_editing_a_reviewed_published_page_needs_review_again(self):
        page = self.page("aftercare")
        education.edit_page(
            self.admin_actor,
            page,
            title=page.title,
            summary=page.summary,
            body=page.body + "\n\nCall us with any question [R111].",
            treatments=page.treatments,
        )
        page.refresh_from_db()
        self.assertEqual(page.status, EducationStatus.DRAFT)
        self.assertFalse(page.is_reviewed)
        with self.assertRaises(Conflict) as raised:
            education.publish_page(self.admin_actor, page)
        self.assertEqual(raised.exception.code, "needs_review")
        education.review_page(actor_for(self.nurse, self.clinic_a), page)
        education.publish_page(self.admin_actor, page)
        page.refresh_from_db()
        self.assertEqual((page.status, page.reviewed_by), (EducationStatus.PUBLISHED, self.nurse))

    def test_saving_the_same_text_keeps_the_review(self):
        page = self.page("aftercare")
        education.edit_page(
            self.admin_actor,
            page,
            title=page.title,
            summary=page.summary,
            body=page.body,
            treatments=page.treatments,
        )
        page.refresh_from_db()
        self.assertTrue(page.is_published and page.is_reviewed)

    def test_a_page_cannot_cite_a_source_that_does_not_exist(self):
        page = self.page("aftercare")
        with self.assertRaises(InputError) as raised:
            education.edit_page(
                self.admin_actor,
                page,
                title=page.title,
                summary=page.summary,
                body="A new fact [R" + "9999].",
                treatments=["all"],
            )
        self.assertEqual(raised.exception.field, "body")
        with self.assertRaises(InputError) as raised:
            education.edit_page(
                self.admin_actor, page, title="", summary="S", body="B", treatments=["all"]
            )
        self.assertEqual(raised.exception.field, "title")

    def test_only_prescribers_and_nurses_review_and_nurses_do_not_edit(self):
        page = self.page("aftercare")
        with self.assertRaises(PermissionDenied):
            education.review_page(self.admin_actor, page)
        with self.assertRaises(PermissionDenied):
            education.review_page(actor_for(self.tms, self.clinic_a), page)
        with self.assertRaises(PermissionDenied):
            education.edit_page(
                actor_for(self.nurse, self.clinic_a),
                page,
                title="T",
                summary="S",
                body="B",
                treatments=["all"],
            )

    def test_reloading_refreshes_unedited_pages_and_keeps_the_clinics_edits(self):
        self.assertEqual(education.load_shipped(self.clinic_a).current, len(SHIPPED))
        edited = self.page("aftercare")
        education.edit_page(
            self.admin_actor,
            edited,
            title="Our aftercare",
            summary=edited.summary,
            body=edited.body,
            treatments=edited.treatments,
        )
        newer = tuple(
            markup.PageText(p.slug, p.title, p.treatments, p.summary, p.body + "\n\nMore [R1].")
            for p in SHIPPED
        )
        with mock.patch.object(education, "shipped_pages", lambda: newer):
            result = education.load_shipped(self.clinic_a, self.admin_actor)
        self.assertEqual((result.refreshed, result.edited, result.added), (len(SHIPPED) - 1, 1, 0))
        refreshed = self.page("costs-and-insurance")
        self.assertTrue(refreshed.body.endswith("More [R1]."))
        self.assertEqual(refreshed.status, EducationStatus.DRAFT)
        self.assertFalse(refreshed.is_reviewed)
        self.assertEqual(self.page("aftercare").title, "Our aftercare")


class StaffPagesTests(EducationTestCase):
    def test_the_prescriber_reviews_and_publishes_through_the_pages(self):
        page = self.page("aftercare")
        self.sign_in(self.admin)
        response = self.client.post(
            f"/education/{page.id}/",
            {
                "title": "Aftercare",
                "summary": page.summary,
                "treatments": ["all"],
                "body": page.body,
            },
        )
        self.assertRedirects(response, f"/education/{page.id}/")
        self.assertContains(self.client.get("/education/"), "Draft, needs review")
        self.assertContains(
            self.client.post(f"/education/{page.id}/publish/", follow=True),
            "A clinician must review this page before it is published.",
        )
        self.sign_in(self.prescriber)
        self.client.post(f"/education/{page.id}/review/")
        self.client.post(f"/education/{page.id}/publish/")
        page.refresh_from_db()
        self.assertTrue(page.is_published)
        self.assertEqual(page.reviewed_by, self.prescriber)
        self.assertContains(self.client.get("/education/"), "Priya Raman, MD")

    def test_the_editor_names_the_field_of_a_bad_edit(self):
        page = self.page("aftercare")
        self.sign_in(self.admin)
        response = self.client.post(
            f"/education/{page.id}/",
            {"title": "A", "summary": "S", "treatments": ["all"], "body": "Fact [R" + "9999]."},
        )
        self.assertContains(response, "which the sources list does not have", status_code=422)
        page.refresh_from_db()
        self.assertTrue(page.is_published)

    def test_roles_and_clinics(self):
        page = self.page("aftercare")
        self.sign_in(self.front_desk)
        self.assertEqual(self.client.get("/education/").status_code, 403)
        self.sign_in(self.nurse)
        self.assertEqual(self.client.get(f"/education/{page.id}/").status_code, 200)
        self.assertEqual(
            self.client.post(f"/education/{page.id}/", {"title": "X"}).status_code, 403
        )
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(f"/education/{page.id}/").status_code, 404)
        self.assertEqual(self.client.post(f"/education/{page.id}/publish/").status_code, 404)

    def test_the_list_costs_the_same_queries_for_any_number_of_pages(self):
        self.sign_in(self.admin)
        self.client.get("/education/")
        with CaptureQueriesContext(connection) as many:
            self.client.get("/education/")
        EducationPage.objects.filter(clinic=self.clinic_a).exclude(slug="aftercare").delete()
        with self.assertNumQueries(len(many)):
            self.client.get("/education/")
