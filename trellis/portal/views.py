"""Pages: the staff invitation on the patient's page, and the patient's own portal.

Portal pages read the signed-in patient from the portal's own session (``session.py``) and
never ``request.user``; every page loads only ``request.portal_account.patient``'s rows, and an
id of anything else is a 404.
"""

from uuid import UUID

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from trellis.accounts.middleware import local_url
from trellis.accounts.permissions import Perm
from trellis.aftercare import checkins, crisis_words
from trellis.aftercare import services as aftercare_services
from trellis.aftercare.forms import CheckInForm
from trellis.lib.errors import InputError
from trellis.lib.http import client_address
from trellis.measures import instruments
from trellis.measures import services as measures
from trellis.measures.contact import CRISIS_LINE, EMERGENCY_NUMBER, PATIENT_WORDS, link_until
from trellis.measures.forms import QuestionnaireForm
from trellis.patients import access
from trellis.portal import selectors, selectors_notes, services, session, totp
from trellis.portal.forms import CodeForm, JournalForm, SignInForm, WelcomeForm
from trellis.portal.models import PORTAL_USERNAME, PortalAccount

# --- Staff: inviting a patient --------------------------------------------------------------


@require_POST
@login_required
def invite(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.PATIENT_CHANGE)
    try:
        sent = services.invite(request.actor, patient)
    except InputError as error:
        messages.error(request, f"No invitation sent: {error.message}.")
    else:
        until = link_until(sent.invitation.expires_at, patient.clinic)
        by = " and ".join({"sms": "text", "email": "e-mail"}[c] for c in sent.channels)
        messages.success(request, f"Portal invitation queued by {by}; usable once until {until}.")
    return redirect(reverse("patient_detail", args=[patient.id]) + "#portal")


@require_POST
@login_required
def revoke(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.PATIENT_CHANGE)
    try:
        services.revoke(request.actor, patient)
    except InputError as error:
        messages.error(request, f"Nothing changed: {error.message}.")
    else:
        messages.success(request, "The patient's portal sign-in is stopped.")
    return redirect(reverse("patient_detail", args=[patient.id]) + "#portal")


# --- The patient's portal -------------------------------------------------------------------


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    account = getattr(request, "portal_account", None)
    base = {
        "account": account,
        "clinic": account.clinic if account else context.get("clinic"),
        "open_notes": account is not None and selectors_notes.open_notes_on(account.clinic),
        "crisis_line": CRISIS_LINE,
        "emergency_number": EMERGENCY_NUMBER,
    }
    response = render(request, template, base | context, status=status)
    response["Cache-Control"] = "no-store, private"
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def welcome(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation's link: choose a sign-in name and a password."""
    try:
        invitation = services.open_invitation(token)
    except services.InvitationUnusable as unusable:
        return _unusable(request, unusable)
    patient = invitation.patient
    initial = {"login": patient.email.lower()} if patient.email else {}
    form = WelcomeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            account = services.accept_invitation(
                token,
                login=form.cleaned_data["login"],
                password=form.cleaned_data["password"],
                source_address=client_address(request),
            )
        except services.InvitationUnusable as unusable:
            return _unusable(request, unusable)
        except InputError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            session.end(request)
            request.portal_session[session.ENROLLING] = str(account.pk)
            return redirect("portal_authenticator")
    return _page(
        request,
        "portal/welcome.html",
        {
            "clinic": invitation.clinic,
            "form": form,
            "given_name": patient.given_name,
            "until": link_until(invitation.expires_at, invitation.clinic),
        },
    )


def _unusable(request: HttpRequest, unusable: services.InvitationUnusable) -> HttpResponse:
    invitation = unusable.invitation
    return _page(
        request,
        "portal/invitation_unusable.html",
        {
            "clinic": invitation.clinic if invitation else {"name": "Trellis", "phone": ""},
            "reason": unusable.reason,
        },
        status=404 if unusable.reason == "unknown" else 410,
    )


def enrolling_account(request: HttpRequest) -> PortalAccount | None:
    """The account between its password and its authenticator (app or passkey), if this
    session set its password."""
    account_id = request.portal_session.get(session.ENROLLING)
    return (
        PortalAccount.objects.select_related("clinic", "patient")
        .filter(pk=account_id, totp_confirmed_at__isnull=True, is_active=True)
        .first()
        if account_id
        else None
    )


def authenticator(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: scan the code (or type the key), then type what it shows.
    Or make a passkey instead (``views_passkeys.enrol``)."""
    account = enrolling_account(request)
    if account is None:
        return redirect("portal_sign_in")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.confirm_totp(
                account, form.cleaned_data["code"], source_address=client_address(request)
            )
        except InputError as error:
            form.add_error("code", error.message)
        else:
            messages.success(request, "Your sign-in is ready. Please sign in.")
            session.end(request)
            return redirect("portal_sign_in")
    url = totp.config_url(account.totp_key, account.login, account.clinic.name)
    return _page(
        request,
        "portal/authenticator.html",
        {
            "clinic": account.clinic,
            "form": form,
            "qr_svg": segno.make(url, error="m").svg_data_uri(scale=5, border=2),
            "secret": totp.secret(account.totp_key),
        },
    )


def sign_in(request: HttpRequest) -> HttpResponse:
    if request.portal_account is not None:
        return redirect("portal_home")
    form = SignInForm(request.POST or None)
    status = 200
    locked = False
    if request.method == "POST" and form.is_valid():
        address = client_address(request)
        try:
            account = services.sign_in(
                form.cleaned_data["login"],
                form.cleaned_data["password"],
                form.cleaned_data["code"],
                source_address=address,
            )
        except services.SignInRefused as refused:
            if refused.reason == "locked":
                locked, status = True, 429
            else:
                form.add_error(
                    None,
                    "That sign-in name, password and code do not match. Check each and try "
                    "again; the code changes every 30 seconds.",
                )
        else:
            session.start(request, account)
            return redirect(local_url(request.GET.get("next", "")) or reverse("portal_home"))
    return _page(
        request,
        "portal/sign_in.html",
        {
            "form": form,
            "locked": locked,
            "idle": request.GET.get("idle") == "1",
            "clinic": {"name": "Patient portal", "phone": ""},
        },
        status=status,
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    account = request.portal_account
    if account is not None:
        services.record_sign_out(account, source_address=client_address(request))
    session.end(request)
    messages.info(request, "You have signed out.")
    return redirect("portal_sign_in")


@session.patient_required
def home(request: HttpRequest) -> HttpResponse:
    account = request.portal_account
    selectors.audit_read(account, "home", client_address(request))
    return _page(
        request,
        "portal/home.html",
        {
            "nav": "home",
            "patient": account.patient,
            "appointments": selectors.upcoming_appointments(account),
            "due": selectors.due_questionnaires(account),
            "check_ins": selectors.open_check_ins(account),
            "plan": selectors.aftercare_plan(account),
        },
    )


@session.patient_required
def questionnaire(request: HttpRequest, scheduled_id: UUID) -> HttpResponse:
    """A questionnaire due to the patient: the same form, scoring and crisis screen as a
    questionnaire link (``measures``)."""
    account = request.portal_account
    item = selectors.due_questionnaire(account, scheduled_id)
    if item is None:
        raise Http404("No such questionnaire.")
    definition = instruments.get_instrument(item.instrument)
    form = QuestionnaireForm(request.POST or None, instrument=definition, for_patient=True)
    if request.method == "POST" and form.is_valid():
        try:
            measure = measures.submit_own(
                account.patient,
                item.pk,
                form.answers(),
                difficulty=form.difficulty_answer(),
                username=PORTAL_USERNAME,
                source_address=client_address(request),
            )
        except InputError as error:
            form.add_input_error(error)
        else:
            return _page(
                request,
                "portal/questionnaire_done.html",
                {"instrument": definition, "crisis": measure.needs_suicide_follow_up},
            )
    return _page(
        request,
        "portal/questionnaire.html",
        {
            "instrument": definition,
            "title": PATIENT_WORDS[definition.code],
            "form": form,
        },
    )


@session.patient_required
def scores(request: HttpRequest) -> HttpResponse:
    account = request.portal_account
    selectors.audit_read(account, "scores", client_address(request))
    return _page(
        request,
        "portal/scores.html",
        {"nav": "scores", "histories": selectors.score_history(account)},
    )


@session.patient_required
def aftercare(request: HttpRequest) -> HttpResponse:
    account = request.portal_account
    selectors.audit_read(account, "aftercare", client_address(request))
    return _page(
        request,
        "portal/aftercare.html",
        {
            "nav": "aftercare",
            "plan": selectors.aftercare_plan(account),
            "check_ins": selectors.open_check_ins(account),
            "answered": selectors.answered_check_ins(account),
        },
    )


@session.patient_required
def check_in(request: HttpRequest, check_in_id: UUID) -> HttpResponse:
    """An open check-in answered in the portal: the link's form, answered through the link's
    service (``aftercare.services``), so the same rules raise the same alerts in the answer's
    transaction and the same crisis screen shows; answered here, its link no longer works."""
    account = request.portal_account
    row, is_open = selectors.own_check_in(account, check_in_id)
    if row is None:
        raise Http404("No such check-in.")
    if not is_open:
        return _check_in_closed(request, row)
    form = CheckInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = aftercare_services.answer_own_check_in(
                account.patient,
                row.pk,
                mood=data["mood"],
                sleep=data["sleep"],
                side_effects=data["side_effects"],
                harm_thoughts=data["harm_thoughts"],
                journal_text=data.get("journal") or "",
                share_journal=data.get("share_journal", False),
                username=PORTAL_USERNAME,
                source_address=client_address(request),
            )
        except aftercare_services.CheckInUnusable:
            return _check_in_closed(request, row)
        except InputError as error:
            form.add_input_error(error)
        else:
            # Shown in the answer to the POST itself, as the link's page does.
            return _page(
                request,
                "portal/check_in_done.html",
                {
                    "nav": "aftercare",
                    "crisis": result.crisis,
                    "harm": result.harm,
                    "journal": result.journal,
                },
            )
    return _page(
        request,
        "portal/check_in.html",
        {
            "nav": "aftercare",
            "form": form,
            "until": link_until(row.expires_at, account.clinic),
        },
    )


def _check_in_closed(request: HttpRequest, row) -> HttpResponse:
    """A check-in already answered (a second tap, the other tab, or its link first) or past
    its time: said politely, with the crisis screen again when the answer raised an alert,
    since a second tap's page replaces the first's."""
    row.refresh_from_db()
    answered = row.answered_at is not None
    return _page(
        request,
        "portal/check_in_closed.html",
        {
            "nav": "aftercare",
            "answered": answered,
            "crisis": answered and selectors.check_in_alerted(row),
            "harm": checkins.Rule.HARM_THOUGHTS.value in row.findings,
        },
        status=410,
    )


@session.patient_required
def journal(request: HttpRequest) -> HttpResponse:
    """The patient's journal: private, or shared with the care team and then screened by the
    aftercare crisis-language net. Crisis words in a private entry raise no alert (nobody
    reads it) but the patient is shown the crisis screen all the same."""
    account = request.portal_account
    form = JournalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["text"]
        try:
            _, alert = aftercare_services.write_own_journal_entry(
                account.patient,
                text,
                shared=form.cleaned_data["shared"],
                username=PORTAL_USERNAME,
                source_address=client_address(request),
            )
        except InputError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            if alert is not None or crisis_words.matches(text):
                return _page(
                    request,
                    "portal/journal_crisis.html",
                    {
                        "nav": "journal",
                        "crisis": True,
                        "shared": form.cleaned_data["shared"],
                        "private": alert is None,
                    },
                )
            messages.success(request, "Saved in your journal.")
            return redirect("portal_journal")
    selectors.audit_read(account, "journal", client_address(request))
    return _page(
        request,
        "portal/journal.html",
        {"nav": "journal", "form": form, "entries": selectors.journal(account)},
    )
