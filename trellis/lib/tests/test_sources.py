"""Sources a clinician can look up: every cited [Rn] has an entry in docs/sources.md, the
screens show short citations that link to the Sources page, and nothing shown to staff points
at the project's notes (DOMAIN.md, DESIGN.md)."""

import ast
import importlib
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.template import Context, Template
from django.test import SimpleTestCase
from django.test.utils import override_script_prefix
from django.utils.safestring import mark_safe

from trellis.accounts import clinic_settings
from trellis.lib import sources
from trellis.patients import eligibility
from trellis.patients.models import Screening
from trellis.patients.services import create_screening, sign_screening
from trellis.patients.tests.test_api import ApiTestCase
from trellis.testing import SAFE_ANSWERS, actor_for
from trellis.treatments import services
from trellis.treatments.protocols import BUILTIN
from trellis.treatments.tests.test_courses import next_monday

ROOT = Path(__file__).resolve().parents[3]
SCANNED = ("trellis", "templates", "docs", "README.md")
TEXT_FILES = {".py", ".html", ".md", ".txt", ".js", ".toml", ".cfg"}
NOTES = re.compile(r"\b(?:DOMAIN|DESIGN)\.md\b")
NO_SUCH = f"[R{9999}]"  # written so that the scan of this file does not find it


def scanned_files():
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            yield path
            continue
        for file in sorted(path.rglob("*")):
            # Vendored files are others' text, with their own notations.
            skipped = {"__pycache__", "vendor"}
            if file.suffix in TEXT_FILES and not skipped.intersection(file.parts):
                yield file


# --- docs/sources.md is the bibliography of everything cited ----------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[R16]", [16]),
        ("DOMAIN.md §2.2 [R16, R22]", [16, 22]),
        ("a dose [R1, R10, R11] and a rate [R10]", [1, 10, 11]),
        ("[R16–R19]", [16, 17, 18, 19]),
        ("[R28-R30]", [28, 29, 30]),
        ("[R5–R7, R13]", [5, 6, 7, 13]),
        ("no citation, [R] or [see R16]", []),
    ],
)
def test_it_reads_every_form_of_citation(text, expected):
    assert sources.numbers(text) == expected


def test_every_reference_cited_in_code_templates_and_docs_has_an_entry():
    entries = sources.all_sources()
    missing = {}
    for file in scanned_files():
        for number in sources.numbers(file.read_text(encoding="utf-8")):
            if number not in entries:
                missing.setdefault(f"R{number}", []).append(str(file.relative_to(ROOT)))
    assert not missing, f"cited but not in docs/sources.md: {missing}"


def test_the_scan_finds_citations_everywhere_it_should():
    cited = set()
    for file in scanned_files():
        cited.update(sources.numbers(file.read_text(encoding="utf-8")))
    # From a template, an eligibility rule, a clinic setting, a protocol and a document.
    assert {30, 46, 40, 36, 94} <= cited


def test_the_numbering_is_the_domain_references_with_no_gaps_and_every_entry_is_complete():
    entries = sources.all_sources()
    assert set(entries) == set(range(1, max(entries) + 1))
    assert max(entries) >= 142
    shorts = [source.short for source in entries.values()]
    assert len(shorts) == len(set(shorts)), "two references share a short citation"
    for source in entries.values():
        assert source.short and not NOTES.search(source.short)
        assert source.field("Title") or source.field("About"), source.key
        assert source.field("Recorded as"), source.key
        assert source.links or source.field("Link") == "none recorded", source.key
        assert all(link.startswith("https://") for link in source.links), source.key


def test_a_number_given_twice_is_refused():
    with pytest.raises(ValueError, match="R3 appears twice"):
        sources.parse("### R3 — A 2001\n- **About:** a\n### R3 — B 2002\n- **About:** b\n")


# --- Readable citations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "readable", "short"),
    [
        ("[R16]", "Spravato label 2019 [R16]", "Spravato label 2019"),
        (
            "DOMAIN.md §1.5 [R16, R19]",
            "Spravato label 2019 [R16]; Spravato safety information [R19]",
            "Spravato label 2019; Spravato safety information",
        ),
        (
            "Weekly re-measurement beats a single baseline, DOMAIN.md §3.2 [R40]",
            "Weekly re-measurement beats a single baseline (Cotovio, MT variability [R40])",
            "Weekly re-measurement beats a single baseline (Cotovio, MT variability)",
        ),
        (
            "Clinic policy: no published maximum, DOMAIN.md §8.2",
            "Clinic policy: no published maximum",
            "Clinic policy: no published maximum",
        ),
        ("Clinic policy", "Clinic policy", "Clinic policy"),
        (NO_SUCH, NO_SUCH, NO_SUCH),
    ],
)
def test_citations_read_as_short_author_or_label_and_year(text, readable, short):
    assert sources.readable(text) == readable
    assert sources.short(text) == short
    assert sources.readable(readable) == readable  # the readable form reads back the same


class CitationFilterTests(SimpleTestCase):
    def render(self, source) -> str:
        return Template("{{ source|citation }}").render(Context({"source": source}))

    def test_the_filter_links_each_short_citation_to_its_entry(self):
        cases = [
            (
                "[R16]",
                '<a class="cite" href="/sources/#r16" title="R16: SPRAVATO (esketamine) nasal '
                'spray, US prescribing information, §5 Warnings and precautions">'
                "Spravato label 2019</a>",
            ),
            (
                "Andrade 2017 [R1]; Phillips 2019 [R3]",
                '<a class="cite" href="/sources/#r1" title="R1: Ketamine for depression: dose, '
                'administration and duration of treatment">Andrade 2017</a>; '
                '<a class="cite" href="/sources/#r3" title="R3: Repeated and maintenance IV '
                'ketamine infusions in treatment-resistant depression">Phillips 2019</a>',
            ),
            (
                "REMS: at least 2 hours, DOMAIN.md §2.2 [R28]",
                'REMS: at least 2 hours (<a class="cite" href="/sources/#r28" title="R28: '
                'SPRAVATO REMS summary (REMS 386)">Spravato REMS, FDA summary</a>)',
            ),
            ("Clinic policy <b>", "Clinic policy &lt;b&gt;"),
            (NO_SUCH, NO_SUCH),
            (None, ""),
        ]
        for source, html in cases:
            with self.subTest(source=source):
                self.assertEqual(self.render(source), html)

    def test_a_text_once_drawn_is_drawn_alike_and_a_safe_one_is_not_escaped(self):
        plain, safe = "Rule <b> [R16]", mark_safe("Rule <b> [R16]")
        for _ in range(2):  # the second time from what the first worked out
            self.assertTrue(self.render(plain).startswith("Rule &lt;b&gt; (<a"))
            self.assertTrue(self.render(safe).startswith("Rule <b> (<a"))
        with override_script_prefix("/clinic/"):
            self.assertIn('href="/clinic/sources/#r16"', self.render(plain))

    def test_citation_text_gives_the_short_citations_without_links(self):
        rendered = Template("{{ t|citation_text }}").render(
            Context({"t": "label guide 140/90 [R16]"})
        )
        self.assertEqual(rendered, "label guide 140/90 (Spravato label 2019)")


# --- Nothing shown to staff points at the project's notes -----------------------------------


def test_no_template_names_the_project_notes():
    named = [
        str(file.relative_to(ROOT))
        for file in (ROOT / "templates").rglob("*.html")
        if NOTES.search(file.read_text(encoding="utf-8"))
    ]
    assert not named


def test_no_document_names_the_project_notes():
    """The guides and the README cite what a reader can look up, never the project's notes."""
    named = [
        f"{file.relative_to(ROOT)}:{number}"
        for file in [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1)
        if NOTES.search(line)
    ]
    assert not named, "names DOMAIN.md or DESIGN.md: " + ", ".join(named)


# OpenAPI summaries of two calculators, in a file other work is changing this turn.
NOTES_IN_STRINGS_LEFT: set[str] = set()


def test_no_string_in_the_code_names_the_project_notes():
    """Comments and docstrings may point developers at the notes; strings reach users."""
    named = []
    for file in (ROOT / "trellis").rglob("*.py"):
        if {"tests", "migrations"} & set(file.parts):
            continue
        if str(file.relative_to(ROOT)) in NOTES_IN_STRINGS_LEFT:
            continue
        tree = ast.parse(file.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and NOTES.search(node.value)
            ):
                named.append(f"{file.relative_to(ROOT)}:{node.lineno}")
    assert not named


def test_rules_settings_and_protocols_cite_only_references_that_have_entries():
    entries = sources.all_sources()
    cited = [rule.source for rule in eligibility.RULES]
    cited += [d.source for d in clinic_settings.DEFINITIONS.values()]
    cited += [spec["source"] for spec in BUILTIN]
    for text in cited:
        assert not NOTES.search(text), text
        assert set(sources.numbers(text)) <= set(entries), text
    for rule in eligibility.RULES:
        assert sources.numbers(rule.source), rule.id
    for spec in BUILTIN:
        assert spec["source"] == sources.readable(spec["source"]), spec["code"]


class PagesCiteSourcesTests(ApiTestCase):
    """The eligibility cards, the course pages, clinic settings and the API, as staff see them."""

    def signed_screening(self, **answers):
        prescriber = actor_for(self.prescriber, self.clinic_a)
        screening = create_screening(prescriber, self.patient, {**SAFE_ANSWERS, **answers}, [])
        return sign_screening(prescriber, screening, acknowledge_cautions=True)

    def assert_cites(self, response, *numbers):
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        self.assertNotRegex(html, NOTES)
        for number in numbers:
            self.assertIn(f'href="/sources/#r{number}"', html)

    def test_eligibility_cards_link_their_sources(self):
        screening = self.signed_screening(pregnant=True, head_metal_implant=True)
        self.sign_in(self.prescriber)
        response = self.client.get(f"/screenings/{screening.id}/")
        self.assert_cites(response, 16, 19, 46)
        self.assertContains(response, "Spravato label 2019</a>")

    def test_the_course_pages_link_the_protocols_sources(self):
        self.signed_screening()
        self.sign_in(self.nurse)
        self.assert_cites(self.client.get(f"/patients/{self.patient.id}/courses/new/"), 1, 22, 31)
        course = services.start_course(
            actor_for(self.nurse, self.clinic_a),
            self.patient,
            "ketamine-iv-induction",
            next_monday(self.clinic_a),
        )
        response = self.client.get(f"/courses/{course.id}/")
        self.assert_cites(response, 1, 2, 3, 11)
        self.assertContains(response, "Andrade 2017</a>")

    def test_clinic_settings_help_links_its_sources(self):
        self.sign_in(self.admin)
        response = self.client.get("/accounts/clinic/settings/")
        self.assert_cites(response, 16, 22, 40, 58)
        self.assertContains(response, "Clinic policy: no published maximum")

    def test_the_api_gives_readable_sources_that_keep_their_numbers(self):
        screening = self.signed_screening(pregnant=True)
        body = self.call("get", f"/api/v1/screenings/{screening.id}").json()
        reasons = body["findings"]["esketamine"]["reasons"]
        pregnancy = next(r for r in reasons if r["rule"] == "esk.pregnancy")
        self.assertEqual(
            pregnancy["source"], "Spravato label 2019 [R16]; Spravato safety information [R19]"
        )
        protocols = self.call("get", "/api/v1/protocols").json()
        self.assertTrue(protocols)
        for protocol in protocols:
            self.assertNotRegex(protocol["source"], NOTES)
            self.assertTrue(sources.numbers(protocol["source"]), protocol["code"])
        induction = next(p for p in protocols if p["code"] == "ketamine-iv-induction")
        self.assertEqual(
            induction["source"],
            "Andrade 2017 [R1]; Murrough 2013 [R2]; Phillips 2019 [R3]; Fava 2018 [R11]",
        )

    def test_the_sources_page_has_an_anchor_for_every_reference_a_citation_links_to(self):
        screening = self.signed_screening(pregnant=True)
        self.sign_in(self.prescriber)
        card = self.client.get(f"/screenings/{screening.id}/").content.decode()
        link = re.search(r'href="(/sources/)#(r16)"', card)
        self.assertIsNotNone(link)
        page = self.client.get(link.group(1))
        self.assertEqual(page.status_code, 200)
        html = page.content.decode()
        self.assertNotRegex(html, NOTES)
        for number in sources.all_sources():
            self.assertIn(f'id="r{number}"', html)
        entry = html[html.index(f'id="{link.group(2)}"') :][:2000]
        self.assertIn("Spravato label 2019", entry)
        self.assertIn("https://janssenlabels.com", entry)
        self.assertContains(page, 'href="/sources/"')  # the footer link on every page

    def test_the_sources_page_is_for_signed_in_staff(self):
        response = self.client.get("/sources/")
        self.assertEqual(response.status_code, 302)
        self.assertIn("/accounts/login/", response["Location"])


class StoredCitationsTests(ApiTestCase):
    """Screenings and protocols saved before citations were readable read them readably."""

    def test_the_migrations_make_stored_sources_readable(self):
        prescriber = actor_for(self.prescriber, self.clinic_a)
        screening = create_screening(prescriber, self.patient, SAFE_ANSWERS, [])
        findings = screening.findings
        reason = {"rule": "esk.pregnancy", "status": "contraindicated", "message": "Pregnant."}
        findings["esketamine"]["reasons"] = [{**reason, "source": "DOMAIN.md §1.5 [R16, R19]"}]
        Screening.objects.filter(pk=screening.pk).update(findings=findings)
        Protocol = apps.get_model("treatments", "Protocol")
        Protocol.objects.filter(code="tms-10hz", clinic=None).update(
            source="DOMAIN.md §3.1 [R31, R32, R35, R37]"
        )

        for name in (
            "trellis.patients.migrations.0007_screening_sources_readable",
            "trellis.treatments.migrations.0010_protocol_sources_readable",
        ):
            importlib.import_module(name).readable_sources(apps, None)

        screening.refresh_from_db()
        self.assertEqual(
            screening.findings["esketamine"]["reasons"],
            [{**reason, "source": "Spravato label 2019 [R16]; Spravato safety information [R19]"}],
        )
        self.assertEqual(
            Protocol.objects.get(code="tms-10hz", clinic=None).source,
            next(spec["source"] for spec in BUILTIN if spec["code"] == "tms-10hz"),
        )
