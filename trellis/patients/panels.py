"""The cards other apps put on a patient's page, and the one place their data is loaded.

A clinical app says, in its AppConfig.ready, which card it adds, under which right, and the
function that loads the card's data (``register``); this app imports none of them. The
patient's page view has already loaded the patient through ``access.patient`` (the clinic, the
role and the page's one READ event), and calls ``for_page``: every card whose right the actor
holds is loaded, the others are left out, and no card writes an audit event of its own. The
templates only render what they are given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import Http404

from trellis.accounts.access import Actor
from trellis.accounts.permissions import Perm
from trellis.patients.models import Patient


@dataclass(frozen=True)
class Panel:
    name: str  # the card's key in the page's ``panels``
    perm: Perm
    load: Callable[[Actor, Patient], dict]


_PANELS: dict[str, Panel] = {}


def register(name: str, perm: Perm, load: Callable[[Actor, Patient], dict]) -> None:
    _PANELS[name] = Panel(name, perm, load)


def for_page(actor: Actor, patient: Patient) -> dict[str, dict]:
    """The data of each card ``actor`` may see on ``patient``'s page, by the card's name."""
    if patient.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    return {
        name: panel.load(actor, patient) for name, panel in _PANELS.items() if actor.can(panel.perm)
    }
