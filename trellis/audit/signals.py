"""Sign-ins and sign-outs go into the same chain as the patient data they open, and so do the
changes accounts announces (it imports nothing of the audit app)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from trellis.accounts.signals import clinic_updated, staff_changed
from trellis.audit.models import Action
from trellis.audit.services import record, record_for
from trellis.lib.http import client_address


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs) -> None:
    record(Action.LOGIN, user=user, source_address=client_address(request))


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        record(Action.LOGOUT, user=user, source_address=client_address(request))


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    record(
        Action.LOGIN_FAILED,
        username=str(credentials.get("username", ""))[:150],
        source_address=client_address(request) if request is not None else "",
    )


@receiver(clinic_updated)
def _clinic_updated(sender, actor, clinic, changed, **kwargs) -> None:
    record_for(actor, Action.UPDATE, obj=clinic, detail={"changed": changed})


@receiver(staff_changed)
def _staff_changed(sender, actor, member, change, created=False, detail=None, **kwargs) -> None:
    action = Action.CREATE if created else Action.UPDATE
    detail = {"change": change, **(detail or {})}
    if actor is None:
        record(
            action,
            user=member,
            obj=member,
            detail=detail,
            source_address=kwargs.get("source_address", ""),
        )
    else:
        record_for(actor, action, obj=member, detail=detail)
