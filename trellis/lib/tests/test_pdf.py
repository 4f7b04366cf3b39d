import io

import pytest
from django.template import engines
from pypdf import PdfReader

from trellis.lib.pdf import RefusedResource, html_to_pdf, pdf_response, render_pdf


def _text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_a_template_becomes_a_pdf_whose_text_can_be_read_back():
    template = engines["django"].from_string(
        '{% extends "includes/pdf_base.html" %}{% block body %}<h1>{{ title }}</h1>'
        "<table><tr><td>96365</td><td class=num>{{ fee }}</td></tr></table>{% endblock %}"
    )
    content = html_to_pdf(template.render({"title": "Superbill for Ada Lovelace", "fee": "450.00"}))
    assert content.startswith(b"%PDF-")
    text = _text(content)
    assert "Superbill for Ada Lovelace" in text
    assert "96365" in text and "450.00" in text
    assert "Page 1 of 1" in text


def test_render_pdf_reads_a_template_by_name():
    assert "Page 1 of 1" in _text(render_pdf("includes/pdf_base.html", {}))


@pytest.mark.parametrize(
    "src", ["https://example.com/tracker.png", "file:///etc/passwd", "/static/no-such-file.css"]
)
def test_a_document_cannot_fetch_anything_but_the_products_static_files(src):
    with pytest.raises(RefusedResource):
        html_to_pdf(f'<link rel="stylesheet" href="{src}"><p>x</p>')


def test_the_response_names_the_file_and_is_not_cached():
    response = pdf_response(b"%PDF-1.7", "estimate.pdf", inline=False)
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="estimate.pdf"'
    assert response["Cache-Control"] == "no-store"


def test_the_footer_shows_names_as_written_on_every_page():
    template = engines["django"].from_string(
        '{% extends "includes/pdf_base.html" %}{% block footer_left %}{{ clinic }} · '
        "{{ patient }}{% endblock %}{% block body %}{% for i in rows %}<p>Line {{ i }}</p>"
        "{% endfor %}{% endblock %}"
    )
    content = html_to_pdf(
        template.render(
            {"clinic": "Lakeshore Ketamine & TMS", "patient": "O'Brien", "rows": range(120)}
        )
    )
    pages = PdfReader(io.BytesIO(content)).pages
    assert len(pages) > 1
    for page in pages:
        text = page.extract_text()
        assert "Lakeshore Ketamine & TMS · O'Brien" in text
        assert "&amp;" not in text and "&#x27;" not in text
