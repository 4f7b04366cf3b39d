"""Named operations on a clinic's staff, done by its administrator: invite, change a role,
deactivate and reactivate, reset the second factor.

Each works on memberships of the administrator's acting clinic only (another clinic's staff are
not found), runs in one transaction and announces itself with ``staff_changed``, which the audit
app records in that transaction (accounts imports nothing above it). A member of staff is never
deleted: their audit trail names them.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp import devices_for_user

from trellis.accounts.access import Actor
from trellis.accounts.models import Clinic, Membership, User
from trellis.accounts.permissions import Role
from trellis.accounts.signals import staff_changed
from trellis.lib import npi
from trellis.lib.errors import Conflict, InputError
from trellis.lib.http import site_url

REASON_MAX = 500


@dataclass(frozen=True)
class Invitation:
    member: User
    membership: Membership
    created: bool  # a new account (False: an existing member of staff given a role here)


def set_password_url(user: User) -> str:
    """The one-time link that lets ``user`` choose a password. It stops working once the
    password is set (the token covers the password hash) or after ``PASSWORD_RESET_TIMEOUT``."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return site_url(reverse("invitation", kwargs={"uidb64": uid, "token": token}))


def _reason(reason: str, *, required: bool = False) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise InputError("reason", "is required: say why, for the audit trail")
    if len(reason) > REASON_MAX:
        raise InputError("reason", f"must be at most {REASON_MAX} characters")
    return reason


def _role(role: str) -> Role:
    if role not in Role.values:
        raise InputError("role", f"must be one of {', '.join(Role.values)}")
    return Role(role)


def _send_invitation(member: User, clinic: Clinic, role: Role, inviter: User) -> None:
    """E-mail ``member`` that they have a role at ``clinic``, with a set-password link when
    they have no password yet. Sent once the transaction commits (never for a rolled-back
    invitation)."""
    context = {
        "member": member,
        "clinic": clinic,
        "role": role.label,
        "inviter": inviter.get_full_name() or inviter.get_username(),
        "set_password_url": "" if member.has_usable_password() else set_password_url(member),
        "sign_in_url": site_url(reverse("login")),
        "valid_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
    }
    subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
    body = render_to_string("accounts/email/invitation.txt", context)
    message = EmailMessage(subject, body, to=[member.email])
    transaction.on_commit(message.send)


@transaction.atomic
def invite(
    actor: Actor,
    *,
    email: str,
    role: str,
    username: str = "",
    first_name: str = "",
    last_name: str = "",
) -> Invitation:
    """Give ``email`` a role at the actor's clinic. An existing account with that address is
    given the role (its name and username unchanged); otherwise a new account is made, with no
    password until its owner follows the link in the e-mail. Raises InputError naming the field:
    the address is already on this clinic's staff, or the username is taken."""
    role = _role(role)
    clinic = actor.clinic
    email = email.strip()
    existing = list(User.objects.filter(email__iexact=email)[:2])
    if len(existing) > 1:
        raise InputError("email", "is used by more than one account; ask an operator to fix it")
    if existing:
        member, created = existing[0], False
        membership = Membership.objects.filter(user=member, clinic=clinic).first()
        if membership is not None:
            state = "" if membership.is_active else " (deactivated: reactivate them instead)"
            raise InputError("email", f"{email} is already on the staff of {clinic.name}{state}")
        if not member.is_active:
            member.is_active = True
            member.save(update_fields=["is_active"])
    else:
        username = username.strip()
        if not username:
            raise InputError("username", "is required for a new account")
        if User.objects.filter(username__iexact=username).exists():
            raise InputError("username", f"{username!r} is taken; choose another")
        member = User(username=username, email=email, first_name=first_name, last_name=last_name)
        member.set_unusable_password()
        try:
            with transaction.atomic():  # another administrator took the name a moment ago
                member.save(force_insert=True)
        except IntegrityError:
            raise InputError("username", f"{username!r} is taken; choose another") from None
        created = True
    try:
        with transaction.atomic():  # another administrator invited them a moment ago
            membership = Membership.objects.create(user=member, clinic=clinic, role=role)
    except IntegrityError:
        raise InputError("email", f"{email} is already on the staff of {clinic.name}") from None
    staff_changed.send(
        sender=User,
        actor=actor,
        member=member,
        change="invited",
        created=created,
        detail={"role": role.value, "email": email},
    )
    _send_invitation(member, clinic, role, actor.user)
    return Invitation(member, membership, created)


@transaction.atomic
def resend_invitation(actor: Actor, member: User) -> None:
    """Send the invitation again, with a fresh link, to someone who has not set a password."""
    membership = _membership(actor, member)
    if member.has_usable_password():
        raise Conflict(f"{member} has already set a password; they can reset it by e-mail.")
    if not membership.is_active:
        raise Conflict(f"{member} is deactivated; reactivate them first.")
    staff_changed.send(
        sender=User, actor=actor, member=member, change="invitation_resent", detail={}
    )
    _send_invitation(member, actor.clinic, Role(membership.role), actor.user)


def _membership(actor: Actor, member: User) -> Membership:
    """The member's membership at the actor's clinic, locked; the clinic row is locked first
    so that two administrators' changes to its administrators run one after the other."""
    Clinic.objects.select_for_update().get(pk=actor.clinic.pk)
    return Membership.objects.select_for_update().get(user=member, clinic=actor.clinic)


def _keeps_an_administrator(membership: Membership) -> None:
    """Refuse to take away the clinic's last active administrator."""
    if membership.role != Role.CLINIC_ADMIN or not membership.is_active:
        return
    others = (
        Membership.objects.filter(
            clinic_id=membership.clinic_id,
            role=Role.CLINIC_ADMIN,
            is_active=True,
            user__is_active=True,
        )
        .exclude(pk=membership.pk)
        .exists()
    )
    if not others:
        raise Conflict(
            "The clinic must keep at least one active administrator: make someone else "
            "administrator first.",
            code="last_administrator",
        )


@transaction.atomic
def change_role(actor: Actor, member: User, role: str, reason: str = "") -> Membership:
    """Give ``member`` another role at the actor's clinic (one role per person per clinic)."""
    role = _role(role)
    reason = _reason(reason)
    membership = _membership(actor, member)
    if membership.role == role:
        return membership
    if role != Role.CLINIC_ADMIN:
        _keeps_an_administrator(membership)
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    staff_changed.send(
        sender=User,
        actor=actor,
        member=member,
        change="role_changed",
        detail={"from": before, "to": role.value, "reason": reason},
    )
    return membership


@transaction.atomic
def deactivate(actor: Actor, member: User, reason: str = "") -> Membership:
    """Take away ``member``'s role at the actor's clinic, keeping the record. Their API tokens
    for this clinic stop working; with no active role left anywhere they can no longer sign in
    (the account is made inactive, which ends their sessions and every token)."""
    reason = _reason(reason)
    membership = _membership(actor, member)
    if not membership.is_active:
        return membership
    _keeps_an_administrator(membership)
    membership.is_active = False
    membership.save(update_fields=["is_active"])
    elsewhere = member.memberships.filter(is_active=True).exists()
    if not elsewhere and member.is_active:
        member.is_active = False
        member.save(update_fields=["is_active"])
    staff_changed.send(
        sender=User,
        actor=actor,
        member=member,
        change="deactivated",
        detail={"role": membership.role, "reason": reason, "account_disabled": not elsewhere},
    )
    return membership


@transaction.atomic
def reactivate(actor: Actor, member: User, reason: str = "") -> Membership:
    """Give ``member`` their role at the actor's clinic back; they can sign in again."""
    reason = _reason(reason)
    membership = _membership(actor, member)
    if membership.is_active and member.is_active:
        return membership
    membership.is_active = True
    membership.save(update_fields=["is_active"])
    if not member.is_active:
        member.is_active = True
        member.save(update_fields=["is_active"])
    staff_changed.send(
        sender=User,
        actor=actor,
        member=member,
        change="reactivated",
        detail={"role": membership.role, "reason": reason},
    )
    return membership


@transaction.atomic
def reset_mfa(actor: Actor, member: User, reason: str) -> int:
    """Remove every second-factor device of ``member`` (a lost phone), with the reason; they
    set up a new authenticator at their next sign-in (a session verified with a removed device
    is asked again at once). Returns how many devices were removed."""
    reason = _reason(reason, required=True)
    _membership(actor, member)
    removed = 0
    for device in devices_for_user(member, confirmed=None):
        device.delete()
        removed += 1
    staff_changed.send(
        sender=User,
        actor=actor,
        member=member,
        change="mfa_reset",
        detail={"devices_removed": removed, "reason": reason},
    )
    return removed


CREDENTIALS_MAX = 40


@transaction.atomic
def set_provider(actor: Actor, member: User, npi_value: str, credentials: str) -> User:
    """Set ``member``'s own NPI (validated by its check digit [R125]) and the credentials shown
    after their name on superbills and claims; empty clears them."""
    _membership(actor, member)
    value = npi.clean(npi_value, "npi")
    credentials = " ".join((credentials or "").split())
    if len(credentials) > CREDENTIALS_MAX:
        raise InputError("credentials", f"must be at most {CREDENTIALS_MAX} characters")
    before = {"npi": member.npi, "credentials": member.credentials}
    if before == {"npi": value, "credentials": credentials}:
        return member
    member.npi, member.credentials = value, credentials
    member.save(update_fields=["npi", "credentials"])
    staff_changed.send(
        sender=User,
        actor=actor,
        member=member,
        change="provider_changed",
        detail={"npi": value, "credentials": credentials, "before": before},
    )
    return member


def password_changed(actor: Actor | None, member: User, how: str, source_address: str) -> None:
    """Record that ``member`` set a new password (``how``: "changed", "reset", "invitation")."""
    staff_changed.send(
        sender=User,
        actor=actor,
        member=member,
        change=f"password_{how}",
        detail={},
        source_address=source_address,
    )
