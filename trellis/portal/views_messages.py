"""Pages of secure messages and notification settings: the patient's in the portal, and the
clinic's inbox for staff with ``portal_message.reply``.

Portal pages read only ``request.portal_account``'s own threads (anything else is a 404); staff
pages load a thread through the access helper. Every messages page says, in the same words,
that messages are read during clinic hours and are not watched for emergencies.
"""

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from trellis.accounts.access import require
from trellis.accounts.permissions import Perm
from trellis.lib.errors import InputError
from trellis.lib.http import client_address
from trellis.portal import message_selectors as reads
from trellis.portal import messages as services
from trellis.portal import notifications, selectors, session
from trellis.portal.forms import NewMessageForm, NotificationForm, ReplyForm
from trellis.portal.models import NoticeChannel, NoticeKind
from trellis.portal.views import _page


def _form_error(form, error: InputError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _crisis(request: HttpRequest, thread) -> HttpResponse:
    """The crisis screen at once, after the message is safely saved and the alert raised."""
    return _page(
        request,
        "portal/message_crisis.html",
        {"nav": "messages", "crisis": True, "thread": thread},
    )


# --- The patient's portal ------------------------------------------------------------------


@session.patient_required
def thread_list(request: HttpRequest) -> HttpResponse:
    account = request.portal_account
    selectors.audit_read(account, "messages", client_address(request))
    return _page(
        request,
        "portal/messages.html",
        {"nav": "messages", "threads": reads.patient_threads(account)},
    )


@session.patient_required
def new_thread(request: HttpRequest) -> HttpResponse:
    account = request.portal_account
    form = NewMessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            thread, written = services.start_thread(
                account,
                form.cleaned_data["subject"],
                form.cleaned_data["body"],
                source_address=client_address(request),
            )
        except InputError as error:
            _form_error(form, error)
        else:
            if written.crisis:
                return _crisis(request, thread)
            messages.success(request, "Your message is sent to your care team.")
            return redirect("portal_message_thread", thread.id)
    return _page(request, "portal/message_new.html", {"nav": "messages", "form": form})


@session.patient_required
def thread(request: HttpRequest, thread_id: UUID) -> HttpResponse:
    account = request.portal_account
    found = reads.patient_thread(account, thread_id)
    if found is None:
        raise Http404("No such conversation.")
    form = ReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            written = services.reply_as_patient(
                account,
                found,
                form.cleaned_data["body"],
                source_address=client_address(request),
            )
        except InputError as error:
            _form_error(form, error)
        else:
            if written.crisis:
                return _crisis(request, found)
            messages.success(request, "Your reply is sent to your care team.")
            return redirect("portal_message_thread", found.id)
    selectors.audit_read(account, "message thread", client_address(request))
    services.mark_read_by_patient(account, found)
    return _page(
        request,
        "portal/message_thread.html",
        {
            "nav": "messages",
            "thread": found,
            "thread_messages": reads.thread_messages(found),
            "form": form,
        },
    )


@session.patient_required
def notification_settings(request: HttpRequest) -> HttpResponse:
    account = request.portal_account
    preference = notifications.preferences_for(account)
    initial = {kind.value: preference.channel_for(kind) for kind in NoticeKind}
    initial |= {"quiet_start": preference.quiet_start, "quiet_end": preference.quiet_end}
    form = NotificationForm(request.POST or None, initial=initial, choices=NoticeChannel.choices)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            notifications.save_preferences(
                account,
                channels={kind.value: data[kind.value] for kind in NoticeKind},
                quiet_start=data["quiet_start"],
                quiet_end=data["quiet_end"],
                source_address=client_address(request),
            )
        except InputError as error:
            _form_error(form, error)
        else:
            messages.success(request, "Your notification settings are saved.")
            return redirect("portal_notifications")
    selectors.audit_read(account, "notification settings", client_address(request))
    return _page(
        request,
        "portal/notifications.html",
        {"nav": "notifications", "form": form, "patient": account.patient},
    )


# --- The clinic's inbox --------------------------------------------------------------------


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    actor = require(request.actor, Perm.PORTAL_MESSAGE_REPLY)
    status = request.GET.get("status", "open")
    if status not in dict(reads.INBOX_STATUSES):
        status = "open"
    return render(
        request,
        "portal/staff_inbox.html",
        {
            "page": reads.inbox(actor, status, request.GET.get("page", 1)),
            "status": status,
            "statuses": reads.INBOX_STATUSES,
            "unread": reads.unread_count(actor),
        },
    )


@login_required
def staff_thread(request: HttpRequest, thread_id: UUID) -> HttpResponse:
    actor = request.actor
    found = reads.staff_thread(actor, thread_id)
    form = ReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.reply_as_staff(actor, found, form.cleaned_data["body"])
        except InputError as error:
            _form_error(form, error)
        else:
            messages.success(request, "Reply sent; the patient is told to sign in to read it.")
            return redirect("portal_inbox_thread", found.id)
    if request.method != "POST":
        services.mark_read_by_staff(actor, found)
    return render(
        request,
        "portal/staff_thread.html",
        {"thread": found, "thread_messages": reads.thread_messages(found), "form": form},
    )


@require_POST
@login_required
def close(request: HttpRequest, thread_id: UUID) -> HttpResponse:
    actor = request.actor
    found = reads.staff_thread(actor, thread_id)
    try:
        services.close_thread(actor, found)
    except InputError as error:
        messages.error(request, f"Nothing changed: {error.message}.")
    else:
        messages.success(request, "The conversation is closed.")
    return redirect("portal_inbox_thread", found.id)
