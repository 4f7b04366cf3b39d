"""The relapse watch: every PHQ-9 recorded is read against the clinic's relapse rule.

A patient who responded to a course (the outcome module's response [R4, R59]) and whose PHQ-9
then meets the rule (``measures.relapse``, the ``relapse_rule`` clinic setting) gets one open
``RelapseFlag``, raised in the transaction that recorded the PHQ-9 (``measures.hooks``) and kept
with the rule's code. The flag shows on the patient's page and on the care team's home lists;
an active maintenance plan's next session is brought forward by it (``maintenance.next_due``).

The trajectory is the patient's: the baseline of their latest course that shows a response (its
earliest linked PHQ-9), then every PHQ-9 the patient answered after it, linked to a course or
not (follow-ups and maintenance count). A flag is raised once for the PHQ-9 that meets the rule
(judged in time order, so a questionnaire entered late counts where it belongs): later totals in
the same relapse raise nothing more, and a flag a clinician reviewed stays reviewed unless the
patient responds again and then relapses again.
"""

from __future__ import annotations

from django.db.models import Q

from trellis.audit.models import Action
from trellis.audit.services import record
from trellis.measures import instruments, relapse
from trellis.measures.models import Measure
from trellis.plans import services
from trellis.plans.models import FlagStatus, RelapseFlag
from trellis.safety.services import SYSTEM_USERNAME
from trellis.scheduling import availability
from trellis.treatments.models import Course


def clinic_rule(clinic) -> str:
    """The relapse rule the clinic chose (``relapse_rule`` setting), as its code."""
    return relapse.rule_for_setting(int(clinic.setting("relapse_rule"))).code


def verdict_for(patient, *, rule: str, measures: list[Measure] | None = None):
    """(course, verdict) for the patient's latest course that shows a response, or (None, None).
    ``measures`` are the patient's PHQ-9s if already loaded."""
    if measures is None:
        measures = list(
            Measure.objects.filter(patient=patient, instrument=instruments.PHQ9.code).only(
                "observed_at", "total", "course_id"
            )
        )
    measures = sorted(measures, key=lambda m: m.observed_at)
    course_ids = list(
        Course.objects.filter(patient=patient)
        .order_by("-start_date", "-created_at")
        .values_list("pk", flat=True)
    )
    for course_id in course_ids:
        linked = [m for m in measures if m.course_id == course_id]
        if not linked:
            continue
        baseline = linked[0]
        trajectory = [m for m in measures if m.observed_at >= baseline.observed_at]
        trajectory.remove(baseline)
        pairs = [(baseline.observed_at, baseline.total)] + [
            (m.observed_at, m.total) for m in trajectory
        ]
        verdict = relapse.watch(pairs, rule=rule)
        if verdict.responded:
            return course_id, verdict
    return None, None


def measure_recorded(measure: Measure) -> RelapseFlag | None:
    """Registered with ``measures.hooks``: raise a flag when the patient's PHQ-9s now meet the
    rule at a total no flag was raised for (the one just recorded, or an earlier one when a
    questionnaire is entered late)."""
    if measure.instrument != instruments.PHQ9.code:
        return None
    patient = measure.patient
    rule = clinic_rule(patient.clinic)
    phq9 = list(
        Measure.objects.filter(patient=patient, instrument=instruments.PHQ9.code).only(
            "observed_at", "total", "course_id", "created_at"
        )
    )
    course_id, verdict = verdict_for(patient, rule=rule, measures=phq9)
    if verdict is None or not verdict.relapsed:
        return None
    trigger = next(m for m in phq9 if m.observed_at == verdict.relapsed_at)
    if (
        RelapseFlag.objects.filter(patient=patient)
        .filter(Q(status=FlagStatus.OPEN) | Q(measure=trigger))
        .exists()
    ):
        return None
    flag = RelapseFlag.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        course_id=course_id,
        measure=trigger,
        rule=rule,
        reason=verdict.reason[:200],
        baseline=verdict.baseline,
        nadir=verdict.nadir,
        total=verdict.relapse_total,
        raised_at=measure.created_at,  # when the watch saw it
    )
    day, plan, note = services.proposed_session(
        patient, flag.course, availability.clinic_day(patient.clinic, flag.raised_at)
    )
    flag.proposed_on, flag.maintenance_plan, flag.proposed_note = day, plan, note[:120]
    flag.save(update_fields=["proposed_on", "maintenance_plan", "proposed_note"])
    record(
        Action.CREATE,
        clinic=patient.clinic,
        patient=patient,
        obj=flag,
        username=SYSTEM_USERNAME,
        detail={
            "rule": rule,
            "reason": flag.reason,
            "proposed_on": day.isoformat() if day else None,
        },
    )
    return flag
