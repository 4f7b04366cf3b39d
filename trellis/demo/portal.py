"""The demo's patient portal sign-in: Riverside's first IV-ketamine patient (the one with the
aftercare plan and answered check-ins) signs in as ``patient`` with the demo password and an
authenticator whose key is published here, so anyone trying the demo can get the code
(``manage.py demo_portal_code``). Set up as a patient would: invited by front desk, the
invitation accepted, the authenticator confirmed. Once."""

from __future__ import annotations

import time

from trellis.accounts.access import Actor
from trellis.accounts.models import Clinic, Membership
from trellis.accounts.permissions import Role
from trellis.patients.modality import Modality
from trellis.portal import services, totp
from trellis.portal.models import PortalAccount
from trellis.treatments.models import Course

LOGIN = "patient"
# A published key: the demo's sign-in only (20 bytes, as an authenticator app takes them).
KEY = "3132333435363738393031323334353637383930"


def current_code() -> str:
    return totp.code_at(KEY, time.time())


def add_portal_account(clinic: Clinic, password: str) -> bool:
    """The demo patient's portal sign-in; False when it exists or the clinic has no such
    patient."""
    if PortalAccount.objects.filter(login=LOGIN).exists():
        return False
    desk = (
        Membership.objects.filter(clinic=clinic, role=Role.FRONT_DESK, is_active=True)
        .select_related("user", "clinic")
        .first()
    )
    course = (
        Course.objects.filter(clinic=clinic, modality=Modality.IV_KETAMINE)
        .select_related("patient__clinic")
        .order_by("start_date", "id")
        .first()
    )
    if desk is None or course is None:
        return False
    sent = services.invite(Actor(desk.user, desk, "demo-loader"), course.patient)
    account = services.accept_invitation(sent.token, login=LOGIN, password=password)
    account.totp_key = KEY
    account.save(update_fields=["totp_key"])
    services.confirm_totp(account, current_code())
    return True
