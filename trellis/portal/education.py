"""The education library: pages a clinic publishes for its patients.

Trellis ships a set of pages (``education_pages/*.md``), written for a 6th–8th-grade reader,
every fact citing ``docs/sources.md``. ``load_shipped`` copies them into a clinic as drafts.
Staff with ``education.edit`` change a page's text; a prescriber or nurse reviews it under
their own name (``education.review``), and only a page reviewed as it stands can be
published. Changing a reviewed or published page clears its review and takes it back to
draft: patients never read text that no clinician has reviewed.

A patient sees the published pages of their own clinic whose treatments match the modality of
any of their courses, and the pages for everyone (``all``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from uuid import UUID

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.html import escape, format_html

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record, record_for
from trellis.lib import sources
from trellis.lib.errors import Conflict, InputError
from trellis.portal import markup
from trellis.portal.models import EducationPage, EducationStatus, PortalAccount
from trellis.treatments.models import Course

SHIPPED_DIR = Path(__file__).resolve().parent / "education_pages"
LOADER_NAME = "(shipped education pages)"


# --- The shipped pages ---------------------------------------------------------------------


@cache
def shipped_pages() -> tuple[markup.PageText, ...]:
    """Every page Trellis ships, in file-name order."""
    return tuple(
        markup.parse(path.read_text(encoding="utf-8")) for path in sorted(SHIPPED_DIR.glob("*.md"))
    )


def content_hash(title: str, summary: str, treatments, body: str) -> str:
    text = "\n".join([title.strip(), summary.strip(), ",".join(treatments), body.strip()])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _page_hash(page: EducationPage) -> str:
    return content_hash(page.title, page.summary, page.treatments, page.body)


@dataclass
class Loaded:
    added: int = 0
    refreshed: int = 0
    current: int = 0
    edited: int = 0  # kept: the clinic has changed them


@transaction.atomic
def load_shipped(clinic, actor: Actor | None = None) -> Loaded:
    """Copy the shipped pages into ``clinic`` as drafts. A page the clinic has not edited is
    brought up to the shipped text (and needs review again); an edited page is left alone."""
    if actor is not None:
        require(actor, Perm.EDUCATION_EDIT)
    result = Loaded()
    existing = {page.slug: page for page in EducationPage.objects.filter(clinic=clinic)}
    now = timezone.now()
    for position, shipped in enumerate(shipped_pages(), start=1):
        digest = content_hash(shipped.title, shipped.summary, shipped.treatments, shipped.body)
        page = existing.get(shipped.slug)
        if page is None:
            page = EducationPage.objects.create(
                clinic=clinic,
                slug=shipped.slug,
                title=shipped.title,
                summary=shipped.summary,
                body=shipped.body,
                treatments=list(shipped.treatments),
                position=position,
                shipped_hash=digest,
                updated_by=actor.user if actor else None,
                updated_at=now,
            )
            result.added += 1
            action = Action.CREATE
        elif page.shipped_hash == digest:
            result.current += 1
            continue
        elif _page_hash(page) == page.shipped_hash:
            page.title, page.summary, page.body = shipped.title, shipped.summary, shipped.body
            page.treatments = list(shipped.treatments)
            page.shipped_hash = digest
            _needs_review(page)
            page.updated_by = actor.user if actor else None
            page.updated_at = now
            page.save()
            result.refreshed += 1
            action = Action.UPDATE
        else:
            result.edited += 1
            continue
        _audit(actor, clinic, action, page, {"education": "shipped text", "slug": page.slug})
    return result


def _audit(actor: Actor | None, clinic, action: Action, page: EducationPage, detail: dict):
    if actor is not None:
        record_for(actor, action, obj=page, detail=detail)
    else:
        record(action, clinic=clinic, obj=page, username=LOADER_NAME, detail=detail)


def _needs_review(page: EducationPage) -> None:
    page.reviewed_by = None
    page.reviewed_on = None
    page.status = EducationStatus.DRAFT
    page.published_at = None


# --- Staff: edit, review, publish ----------------------------------------------------------


def staff_pages(actor: Actor) -> list[EducationPage]:
    require_any(actor)
    return list(EducationPage.objects.filter(clinic=actor.clinic).select_related("reviewed_by"))


def require_any(actor: Actor) -> Actor:
    """Anyone who edits or reviews pages may read the library's staff pages."""
    if actor is not None and actor.can(Perm.EDUCATION_REVIEW):
        return actor
    return require(actor, Perm.EDUCATION_EDIT)


def staff_page(actor: Actor, page_id: UUID) -> EducationPage:
    """One page of the actor's clinic: another clinic's page or an unknown id is a 404."""
    require_any(actor)
    page = (
        EducationPage.objects.filter(clinic=actor.clinic, pk=page_id)
        .select_related("reviewed_by", "updated_by")
        .first()
    )
    if page is None:
        raise Http404("No such page.")
    return page


def _clean(title: str, summary: str, body: str, treatments) -> tuple[str, str, str, list]:
    title, summary, body = (title or "").strip(), (summary or "").strip(), (body or "").strip()
    if not title:
        raise InputError("title", "a page needs a title")
    if len(title) > 120:
        raise InputError("title", "at most 120 characters")
    if not summary:
        raise InputError("summary", "one sentence that says what the page is about")
    if len(summary) > 240:
        raise InputError("summary", "at most 240 characters")
    if not markup.plain_text(body):
        raise InputError("body", "a page needs some text")
    try:
        codes = markup.parse_treatments(",".join(treatments or []))
    except markup.PageFormatError as error:
        raise InputError("treatments", error.message) from None
    missing = [n for n in sources.numbers(body) if n not in sources.all_sources()]
    if missing:
        listed = ", ".join(f"R{n}" for n in missing)
        raise InputError("body", f"cites {listed}, which the sources list does not have")
    return title, summary, body, list(codes)


@transaction.atomic
def edit_page(
    actor: Actor, page: EducationPage, *, title: str, summary: str, body: str, treatments
) -> EducationPage:
    """New text for a page. A change clears the review: the page is a draft again until a
    clinician reviews it and it is published again."""
    require(actor, Perm.EDUCATION_EDIT)
    page = EducationPage.objects.select_for_update().get(pk=page.pk, clinic=actor.clinic)
    title, summary, body, codes = _clean(title, summary, body, treatments)
    if (title, summary, body, codes) == (page.title, page.summary, page.body, page.treatments):
        return page
    was = {"status": page.status, "reviewed": page.is_reviewed}
    page.title, page.summary, page.body, page.treatments = title, summary, body, codes
    _needs_review(page)
    page.updated_by = actor.user
    page.updated_at = timezone.now()
    page.save()
    record_for(actor, Action.UPDATE, obj=page, detail={"education": "edited", "before": was})
    return page


@transaction.atomic
def review_page(actor: Actor, page: EducationPage) -> EducationPage:
    """The signed-in clinician has read the page as it stands and answers for it."""
    require(actor, Perm.EDUCATION_REVIEW)
    page = EducationPage.objects.select_for_update().get(pk=page.pk, clinic=actor.clinic)
    page.reviewed_by = actor.user
    page.reviewed_on = actor.clinic.today()
    page.save(update_fields=["reviewed_by", "reviewed_on"])
    record_for(actor, Action.UPDATE, obj=page, detail={"education": "reviewed"})
    return page


@transaction.atomic
def publish_page(actor: Actor, page: EducationPage) -> EducationPage:
    require(actor, Perm.EDUCATION_EDIT)
    page = EducationPage.objects.select_for_update().get(pk=page.pk, clinic=actor.clinic)
    if not page.is_reviewed:
        raise Conflict(
            "A clinician must review this page before it is published.", code="needs_review"
        )
    if page.is_published:
        return page
    page.status = EducationStatus.PUBLISHED
    page.published_at = timezone.now()
    page.save(update_fields=["status", "published_at"])
    record_for(actor, Action.UPDATE, obj=page, detail={"education": "published"})
    return page


@transaction.atomic
def withdraw_page(actor: Actor, page: EducationPage) -> EducationPage:
    """Take a page out of the patients' library; its text and review stay."""
    require(actor, Perm.EDUCATION_EDIT)
    page = EducationPage.objects.select_for_update().get(pk=page.pk, clinic=actor.clinic)
    if not page.is_published:
        return page
    page.status = EducationStatus.DRAFT
    page.published_at = None
    page.save(update_fields=["status", "published_at"])
    record_for(actor, Action.UPDATE, obj=page, detail={"education": "withdrawn"})
    return page


# --- The patient's library -----------------------------------------------------------------


def patient_modalities(account: PortalAccount) -> set[str]:
    """The modalities of the patient's courses, whatever their status."""
    return set(
        Course.objects.filter(clinic=account.clinic, patient=account.patient).values_list(
            "modality", flat=True
        )
    )


def patient_pages(account: PortalAccount) -> list[EducationPage]:
    """The published pages of the patient's clinic meant for them, by title."""
    modalities = patient_modalities(account)
    published = EducationPage.objects.filter(
        clinic=account.clinic, status=EducationStatus.PUBLISHED
    ).select_related("reviewed_by")
    return [page for page in published if page.is_for(modalities)]


def patient_page(account: PortalAccount, slug: str) -> EducationPage | None:
    """One of ``patient_pages``, or None: a draft, another clinic's page, or a page for
    another treatment is not the patient's to read."""
    page = (
        EducationPage.objects.filter(
            clinic=account.clinic, slug=slug, status=EducationStatus.PUBLISHED
        )
        .select_related("reviewed_by")
        .first()
    )
    if page is None or not page.is_for(patient_modalities(account)):
        return None
    return page


# --- Rendering -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    html: str  # safe: built from escaped text (markup.render)
    cited: list[sources.Cite]  # in the order first cited; the page's notes are numbered so


def render(body: str) -> Rendered:
    """The body as HTML, each citation a small numbered link to the page's own list of
    sources ("Where this comes from"), which names each source readably."""
    order: list[int] = []
    entries = sources.all_sources()

    def cite(group: str) -> str:
        marks = []
        for number in sources.numbers(group):
            if number in entries and number not in order:
                order.append(number)
        numbers = sorted(sources.numbers(group), key=lambda n: order.index(n) if n in order else 0)
        for number in numbers:
            source = entries.get(number)
            if source is None:
                marks.append(escape(f"[R{number}]"))
                continue
            marks.append(
                format_html(
                    '<a href="#source-{}" aria-label="Source {}: {}">{}</a>',
                    source.anchor,
                    order.index(number) + 1,
                    source.short,
                    order.index(number) + 1,
                )
            )
        return f'<sup class="cite-marks">{", ".join(marks)}</sup>'

    html = markup.render(body, cite)
    return Rendered(html, [sources.Cite(n, entries[n]) for n in order])
