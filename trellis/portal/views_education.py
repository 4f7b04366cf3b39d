"""Pages of the education library: the staff's list and editor (load, edit, review, publish,
withdraw), and the patient's library in the portal. Thin: one service call each."""

from __future__ import annotations

from uuid import UUID

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from trellis.accounts.access import require
from trellis.accounts.permissions import Perm
from trellis.lib.errors import Conflict, InputError
from trellis.lib.forms import Form
from trellis.lib.http import client_address
from trellis.patients.modality import Modality
from trellis.portal import education, markup, selectors, session
from trellis.portal.views import _page

TREATMENT_CHOICES = [(markup.ALL, "Every patient"), *Modality.choices]


class PageForm(Form):
    title = forms.CharField(max_length=120)
    summary = forms.CharField(
        max_length=240, help_text="One sentence, shown in the patient's list of pages."
    )
    treatments = forms.MultipleChoiceField(
        choices=TREATMENT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text="Patients with a course of a ticked treatment see the page.",
    )
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 24}),
        help_text=(
            "Short sentences and plain words (a 6th–8th-grade reader). ## for a heading, "
            "- for a list, **bold**. After each fact, its number on the Sources page in "
            "square brackets, after an R."
        ),
    )


# --- Staff ---------------------------------------------------------------------------------


@login_required
def library(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    pages = education.staff_pages(actor)
    return render(
        request,
        "education/list.html",
        {
            "pages": pages,
            "can_edit": actor.can(Perm.EDUCATION_EDIT),
            "shipped_count": len(education.shipped_pages()),
        },
    )


@require_POST
@login_required
def load(request: HttpRequest) -> HttpResponse:
    result = education.load_shipped(request.actor.clinic, request.actor)
    messages.success(
        request,
        f"Shipped pages: {result.added} added, {result.refreshed} brought up to date, "
        f"{result.current} already current, {result.edited} kept as your clinic edited them. "
        "New and updated pages are drafts until a clinician reviews them.",
    )
    return redirect("education_list")


@login_required
def page(request: HttpRequest, page_id: UUID) -> HttpResponse:
    actor = request.actor
    found = education.staff_page(actor, page_id)
    can_edit = actor.can(Perm.EDUCATION_EDIT)
    initial = {
        "title": found.title,
        "summary": found.summary,
        "treatments": found.treatments,
        "body": found.body,
    }
    form = PageForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        require(actor, Perm.EDUCATION_EDIT)
        if form.is_valid():
            try:
                education.edit_page(actor, found, **form.cleaned_data)
            except InputError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, "Saved. The page is a draft until it is reviewed.")
                return redirect("education_page", page_id=found.id)
        status = 422
    rendered = education.render(found.body)
    return render(
        request,
        "education/page.html",
        {
            "page": found,
            "form": form if can_edit else None,
            "preview": mark_safe(rendered.html),  # noqa: S308 (escaped by markup.render)
            "cited": rendered.cited,
            "can_edit": can_edit,
            "can_review": actor.can(Perm.EDUCATION_REVIEW),
        },
        status=status,
    )


def _act(request: HttpRequest, page_id: UUID, action, done: str) -> HttpResponse:
    found = education.staff_page(request.actor, page_id)
    try:
        action(request.actor, found)
    except Conflict as conflict:
        messages.error(request, conflict.message)
    else:
        messages.success(request, done)
    return redirect("education_page", page_id=found.id)


@require_POST
@login_required
def review(request: HttpRequest, page_id: UUID) -> HttpResponse:
    return _act(request, page_id, education.review_page, "Reviewed under your name, today.")


@require_POST
@login_required
def publish(request: HttpRequest, page_id: UUID) -> HttpResponse:
    return _act(
        request, page_id, education.publish_page, "Published: patients it is for can read it."
    )


@require_POST
@login_required
def withdraw(request: HttpRequest, page_id: UUID) -> HttpResponse:
    return _act(request, page_id, education.withdraw_page, "Withdrawn from the patients' library.")


# --- The patient's library -----------------------------------------------------------------


@session.patient_required
def learn(request: HttpRequest) -> HttpResponse:
    account = request.portal_account
    selectors.audit_read(account, "learn", client_address(request))
    return _page(
        request,
        "portal/learn.html",
        {"nav": "learn", "pages": education.patient_pages(account)},
    )


@session.patient_required
def learn_page(request: HttpRequest, slug: str) -> HttpResponse:
    account = request.portal_account
    found = education.patient_page(account, slug)
    if found is None:
        raise Http404("No such page.")
    selectors.audit_read(account, f"learn:{found.slug}", client_address(request))
    rendered = education.render(found.body)
    return _page(
        request,
        "portal/learn_page.html",
        {
            "nav": "learn",
            "page": found,
            "body": mark_safe(rendered.html),  # noqa: S308 (escaped by markup.render)
            "cited": rendered.cited,
        },
    )
