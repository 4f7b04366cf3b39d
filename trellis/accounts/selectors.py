"""Reading a clinic's staff for its administrator."""

from django.db.models import Exists, OuterRef, Q, QuerySet
from django_otp.plugins.otp_totp.models import TOTPDevice

from trellis.accounts.models import Clinic, Membership


def staff_of(clinic: Clinic, search: str = "") -> QuerySet[Membership]:
    """The clinic's memberships, active first, then by family and given name, each with its
    user and ``has_mfa`` (a confirmed authenticator). ``search`` matches any word of the name,
    the username or the e-mail address."""
    memberships = (
        Membership.objects.filter(clinic=clinic)
        .select_related("user")
        .annotate(
            has_mfa=Exists(TOTPDevice.objects.filter(user_id=OuterRef("user_id"), confirmed=True))
        )
        .order_by("-is_active", "user__last_name", "user__first_name", "user__username")
    )
    for word in search.split():
        memberships = memberships.filter(
            Q(user__first_name__icontains=word)
            | Q(user__last_name__icontains=word)
            | Q(user__username__icontains=word)
            | Q(user__email__icontains=word)
        )
    return memberships


def member_of(clinic: Clinic, username: str) -> Membership | None:
    """One member of the clinic's staff by username, with ``has_mfa``; None when the person
    has no role at this clinic (another clinic's staff are not found)."""
    return staff_of(clinic).filter(user__username=username).first()
