"""The Staff pages of a clinic administrator, and every user's password pages."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView

from trellis.accounts import selectors, staff
from trellis.accounts.access import Actor, require
from trellis.accounts.forms import (
    InviteForm,
    MfaResetForm,
    PasswordChangeForm,
    PasswordResetForm,
    ProviderForm,
    ReasonForm,
    RoleForm,
    SetPasswordForm,
)
from trellis.accounts.models import Membership
from trellis.accounts.permissions import Perm
from trellis.lib.errors import Conflict, InputError
from trellis.lib.http import client_address

PAGE_SIZE = 25


@login_required
def staff_list(request: HttpRequest) -> HttpResponse:
    actor = require(request.actor, Perm.CLINIC_CHANGE)
    q = request.GET.get("q", "").strip()[:100]
    page = Paginator(selectors.staff_of(actor.clinic, q), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "accounts/staff_list.html", {"page": page, "q": q})


@login_required
def staff_invite(request: HttpRequest) -> HttpResponse:
    actor = require(request.actor, Perm.CLINIC_CHANGE)
    form = InviteForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                invitation = staff.invite(actor, **form.cleaned_data)
            except InputError as error:
                form.add_error(error.field, error.message)
            else:
                member = invitation.member
                if invitation.created:
                    text = (
                        f"Invitation sent to {member.email}. The link lets {member} choose "
                        "a password."
                    )
                else:
                    text = (
                        f"{member} already had a Trellis account ({member.username}); they are now "
                        f"{invitation.membership.get_role_display()} here and were told by e-mail."
                    )
                messages.success(request, text)
                return redirect("staff_member", username=member.username)
        status = 400
    return render(request, "accounts/staff_invite.html", {"form": form}, status=status)


def _member(actor: Actor, username: str) -> Membership:
    membership = selectors.member_of(actor.clinic, username)
    if membership is None:
        raise Http404("No such member of this clinic's staff.")
    return membership


def _member_page(
    request: HttpRequest, actor: Actor, membership: Membership, status: int = 200, **forms
) -> HttpResponse:
    context = {
        "m": membership,
        "member": membership.user,
        "is_self": membership.user_id == actor.user.pk,
        "role_form": RoleForm(initial={"role": membership.role}),
        "active_form": ReasonForm(),
        "mfa_form": MfaResetForm(),
        "provider_form": ProviderForm(
            initial={"npi": membership.user.npi, "credentials": membership.user.credentials}
        ),
        "problem": "",
        **forms,
    }
    return render(request, "accounts/staff_member.html", context, status=status)


@login_required
def staff_member(request: HttpRequest, username: str) -> HttpResponse:
    actor = require(request.actor, Perm.CLINIC_CHANGE)
    return _member_page(request, actor, _member(actor, username))


# The changes an administrator makes from a member's page: the form each reads, and the service.
_CHANGES = {
    "role": (RoleForm, "role_form"),
    "deactivate": (ReasonForm, "active_form"),
    "reactivate": (ReasonForm, "active_form"),
    "mfa": (MfaResetForm, "mfa_form"),
    "resend": (ReasonForm, "active_form"),
    "provider": (ProviderForm, "provider_form"),
}


@require_POST
@login_required
def staff_change(request: HttpRequest, username: str, change: str) -> HttpResponse:
    actor = require(request.actor, Perm.CLINIC_CHANGE)
    if change not in _CHANGES:
        raise Http404("No such change.")
    membership = _member(actor, username)
    member = membership.user
    form_class, form_name = _CHANGES[change]
    form = form_class(request.POST)
    if not form.is_valid():
        return _member_page(request, actor, membership, 400, **{form_name: form})
    reason = form.cleaned_data.get("reason", "")
    try:
        if change == "role":
            done = staff.change_role(actor, member, form.cleaned_data["role"], reason)
            text = f"{member} is now {done.get_role_display()} at {actor.clinic.name}."
        elif change == "deactivate":
            staff.deactivate(actor, member, reason)
            text = f"{member} is deactivated at {actor.clinic.name}; their record is kept."
        elif change == "reactivate":
            staff.reactivate(actor, member, reason)
            text = f"{member} is active again at {actor.clinic.name}."
        elif change == "mfa":
            staff.reset_mfa(actor, member, reason)
            text = f"{member}'s authenticator is removed; they set up a new one at next sign-in."
        elif change == "provider":
            staff.set_provider(
                actor, member, form.cleaned_data["npi"], form.cleaned_data["credentials"]
            )
            text = f"{member}'s provider details are saved."
        else:
            staff.resend_invitation(actor, member)
            text = f"The invitation was sent again to {member.email}."
    except InputError as error:
        form.add_error(error.field if error.field in form.fields else None, error.message)
        return _member_page(request, actor, membership, 400, **{form_name: form})
    except Conflict as error:
        return _member_page(request, actor, membership, 409, problem=error.message)
    messages.success(request, text)
    return redirect("staff_member", username=member.username)


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = PasswordChangeForm
    success_url = reverse_lazy("password_change_done")

    def form_valid(self, form):
        response = super().form_valid(form)
        staff.password_changed(
            self.request.actor, self.request.user, "changed", client_address(self.request)
        )
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Reset by e-mail for every member of staff. The page that follows says the same whether
    or not the address has an account; links are built on ``TRELLIS_BASE_URL``."""

    form_class = PasswordResetForm
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"

    def form_valid(self, form):
        self.extra_email_context = {
            "base_url": settings.TRELLIS_BASE_URL,
            "valid_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
        }
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Choosing a new password from a one-time link; a deactivated account's link is refused."""

    form_class = SetPasswordForm
    how = "reset"

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def form_valid(self, form):
        response = super().form_valid(form)
        staff.password_changed(None, form.user, self.how, client_address(self.request))
        return response


class InvitationView(PasswordResetConfirmView):
    """A new member of staff chooses their first password from the invitation's link."""

    template_name = "accounts/invitation.html"
    success_url = reverse_lazy("invitation_done")
    how = "set_from_invitation"


invitation_done = TemplateView.as_view(template_name="accounts/invitation_done.html")
