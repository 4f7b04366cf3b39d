"""SMS providers: a class with ``send(to, body)`` that raises ``SmsError`` when it cannot send.

``settings.TRELLIS_SMS_PROVIDER`` names the class by dotted path; ``get_provider()`` makes one.
The default, ``FileProvider``, writes each message to a file, for the demo and for tests. A
provider for a real gateway (Twilio, Vonage, an SMPP bridge …) subclasses ``SmsProvider``,
reads its credentials from settings in ``__init__`` and sends in ``send``.
"""

import json
import os
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.module_loading import import_string


class SmsError(Exception):
    """The provider could not send the message; the outbox will try again later."""


class SmsProvider:
    """What the outbox needs from a provider. Subclasses override ``send``."""

    def send(self, to: str, body: str) -> None:
        """Send ``body`` to the phone number ``to`` (digits, optionally a leading +)."""
        raise NotImplementedError


class FileProvider(SmsProvider):
    """Writes each message as JSON (``to``, ``body``, ``time``) to its own file in a directory."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory or settings.TRELLIS_SMS_DIR)

    def send(self, to: str, body: str) -> None:
        now = timezone.now()
        name = f"{now:%Y%m%dT%H%M%S%f}Z-{uuid.uuid4().hex[:8]}.json"
        content = json.dumps({"to": to, "body": body, "time": now.isoformat()}, indent=2)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # Write then rename, so that whoever reads the directory never sees half a message.
            partial = self.directory / f".{name}.part"
            partial.write_text(content + "\n", encoding="utf-8")
            os.replace(partial, self.directory / name)
        except OSError as error:
            raise SmsError(f"cannot write to {self.directory}: {error}") from error


def get_provider() -> SmsProvider:
    """A new instance of the provider class named by ``settings.TRELLIS_SMS_PROVIDER``."""
    path = settings.TRELLIS_SMS_PROVIDER
    try:
        provider_class = import_string(path)
    except ImportError as error:
        raise ImproperlyConfigured(f"TRELLIS_SMS_PROVIDER {path!r} cannot be imported") from error
    return provider_class()
