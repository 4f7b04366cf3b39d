import base64

import segno
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from trellis.accounts import services
from trellis.accounts.access import require
from trellis.accounts.forms import ClinicForm, LoginForm, OtpForm
from trellis.accounts.middleware import SESSION_CLINIC, local_url
from trellis.accounts.permissions import Perm


def _safe_next(request: HttpRequest, fallback: str = "home") -> str:
    """Where to go after signing in: the ``next`` page when it is a path on this site."""
    return local_url(request.POST.get("next") or request.GET.get("next") or "") or fallback


class LoginView(auth_views.LoginView):
    """Sign-in that returns to the page the user was on (kept through an idle sign-out), and
    only ever to a path on this site."""

    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_redirect_url(self) -> str:
        return _safe_next(self.request, "")


@login_required
def mfa(request: HttpRequest) -> HttpResponse:
    """Second factor: confirm a new authenticator, or verify a code from an existing one."""
    if request.user.is_verified():
        return redirect(_safe_next(request))
    setting_up = not user_has_device(request.user, confirmed=True)
    device = services.pending_totp_device(request.user) if setting_up else None
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        candidates = [device] if setting_up else TOTPDevice.objects.devices_for_user(request.user)
        for candidate in candidates:
            if candidate.verify_token(code):
                if setting_up:
                    services.confirm_totp_device(candidate)
                otp_login(request, candidate)
                return redirect(_safe_next(request))
        form.add_error(
            "code", "That code is not valid. Codes change every 30 seconds; try the current one."
        )
    context = {"form": form, "setting_up": setting_up, "next": _safe_next(request, "")}
    if setting_up:
        qr = segno.make(device.config_url, error="m")
        context["qr_svg"] = qr.svg_data_uri(scale=5, border=2)
        context["secret"] = _base32(device.bin_key)
    return render(request, "accounts/mfa.html", context)


def _base32(key: bytes) -> str:
    text = base64.b32encode(key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


@require_POST
@login_required
def switch_clinic(request: HttpRequest) -> HttpResponse:
    clinic_id = request.POST.get("clinic", "")
    if not any(str(m.clinic_id) == clinic_id for m in request.memberships):
        raise Http404("No such clinic.")
    request.session[SESSION_CLINIC] = clinic_id
    return redirect(_safe_next(request))


@require_POST
@login_required
def keepalive(request: HttpRequest) -> HttpResponse:
    """Activity on a page without a request (typing a long note) keeps the session alive."""
    return HttpResponse(status=204)


@login_required
def account(request: HttpRequest) -> HttpResponse:
    tokens = request.user.api_tokens.select_related("clinic").all()
    return render(
        request,
        "accounts/account.html",
        {"tokens": tokens, "has_mfa": user_has_device(request.user, confirmed=True)},
    )


@require_POST
@login_required
def revoke_token(request: HttpRequest, token_id) -> HttpResponse:
    token = request.user.api_tokens.filter(pk=token_id).first()
    if token is None:
        raise Http404("No such token.")
    services.revoke_token(token)
    messages.success(
        request, f"Token {token.hint}… revoked. Programs using it are refused from now on."
    )
    return redirect("account")


@login_required
def clinic(request: HttpRequest) -> HttpResponse:
    actor = require(request.actor, Perm.CLINIC_CHANGE)
    form = ClinicForm(request.POST or None, instance=actor.clinic)
    if request.method == "POST" and form.is_valid():
        services.update_clinic(actor, form.details(), form.setting_values())
        messages.success(request, "Clinic settings saved.")
        return redirect("clinic")
    return render(request, "accounts/clinic.html", {"form": form})
