"""Sign-ins and sign-outs go into the same chain as the patient data they open."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from trellis.audit.models import Action
from trellis.audit.services import record
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
