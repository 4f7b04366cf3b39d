"""The outcomes report as pages and exports read it: the figures for the chosen clinics, each
reading audited here (one QUERY or EXPORT event per clinic covered), never in the view."""

from datetime import date

from django.core.exceptions import PermissionDenied

from trellis.accounts.access import Actor
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.reports import outcomes
from trellis.reports.outcomes import OutcomeRow


def outcome_report(
    actors: list[Actor],
    *,
    date_from: date | None,
    date_to: date | None,
    modality: str | None,
    levels: tuple[int, ...],
    filters: dict,
    export: bool = False,
) -> dict[int, list[OutcomeRow]]:
    """The figures of ``outcomes.outcome_report`` for the clinics of ``actors`` (one per clinic,
    each with ``report.read``), then one event per clinic, so each clinic's audit report shows
    who read or exported its figures with which ``filters``."""
    if not actors or not all(actor.can(Perm.REPORT_READ) for actor in actors):
        raise PermissionDenied("Your role may not read outcome reports.")
    report = outcomes.outcome_report(
        [actor.clinic.pk for actor in actors],
        date_from=date_from,
        date_to=date_to,
        modality=modality,
        levels=levels,
    )
    for actor in actors:
        record_for(
            actor,
            Action.EXPORT if export else Action.QUERY,
            object_type="reports.outcomes",
            detail={"filters": filters, "clinics": len(actors)},
        )
    return report
