"""Treatment outcomes per modality, clinic and quarter, computed by the database.

The unit is the treatment course; a course belongs to the quarter of its start date (a date in
the clinic's own calendar). For each course, from the PHQ-9s linked to it:

- **The course's PHQ-9s** are those inside the outcome window: observed up to
  ``OUTCOME_WINDOW_DAYS`` (21) days after the course ended (``Course.ended_at``: its last
  session signed, or the course stopped); all of them while the course is active. The rule and
  its sources are ``trellis.measures.outcomes``'s, the one the patient page and the API apply.
  Follow-ups later than that judge durability, not the course.
- **Baseline** is the earliest of them, **latest** the most recent (ties: recorded first,
  then id). **Assessed**: at least two — a single measurement is never a response.
- **Response**: the latest fell by at least 50 % of a baseline above 0; **remission**: the
  latest is below 5 (``trellis.measures.outcomes``, [R4, R59]).
- **Weeks to response** (responders): from the baseline's ``observed_at`` to the first of the
  course's PHQ-9s 50 % below baseline; the median per group (the mean of the middle two when
  their number is even).
- **Durable response at 3 (6) months** (ended responders): the course's PHQ-9 observed closest
  to 91 (182) days after the course ended, within 30 days either way (ties: the earlier), is
  still 50 % below baseline. Assessed = responders with such a PHQ-9.

Each course's facts are computed with the ORM (correlated subqueries, ``course_facts``) and
**kept** in ``CourseOutcome``: ``refresh`` computes a course's row again in the transaction that
saves or deletes the course or one of its questionnaires (``trellis.reports.apps`` connects it),
and ``rebuild`` (``manage.py rebuild_outcomes``) computes every row in one statement after a
bulk load. The dashboard groups the kept rows in one statement, so a view costs one row per
course, not every questionnaire; ``live=True`` groups freshly computed facts instead, and the
development tools in ``bench/synthetic/reference.py`` compute the same figures independently,
with window functions, as the oracle of the tests and the benchmark. Aggregates only: no
patient identifier leaves this module.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date
from uuid import UUID

from django.db import connection, connections, transaction
from django.db.models import (
    BigIntegerField,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    Window,
)
from django.db.models.functions import (
    Abs,
    Cast,
    Concat,
    ExtractQuarter,
    ExtractYear,
    RowNumber,
)

from trellis.lib import replica
from trellis.measures import outcomes
from trellis.measures.models import Measure
from trellis.reports.models import CourseOutcome
from trellis.treatments.models import MODALITY_CHOICES, Course, CourseStatus

DAY = 86400
# The outcome window (``trellis.measures.outcomes``): PHQ-9s up to 21 days after the course.
OUTCOME_WINDOW_DAYS = outcomes.OUTCOME_WINDOW_DAYS
OUTCOME_WINDOW_TEXT = outcomes.OUTCOME_WINDOW_TEXT
# Durable response: the PHQ-9 closest to these many days after the course, within the window.
DURABLE_TARGET_DAYS = {3: 91, 6: 182}
DURABLE_WINDOW_DAYS = 30
RESPONSE_FALL_PCT = outcomes.RESPONSE_FALL_PCT  # 50 [R4, R59]
REMISSION_BELOW = outcomes.PHQ9_REMISSION_BELOW  # 5 [R59]
MODALITY_ORDER = [code for code, _ in MODALITY_CHOICES]
MODALITY_LABELS = dict(MODALITY_CHOICES)
NETWORK = "All selected clinics"


@dataclass(frozen=True)
class OutcomeRow:
    modality: str
    clinic_id: UUID | None  # None in a network row (``by_clinic=False``)
    clinic_name: str
    quarter: str  # "2026-Q1"
    courses_started: int
    courses_completed: int
    assessed: int
    responders: int
    remitters: int
    response_rate: float | None  # responders / assessed; None when none assessed
    remission_rate: float | None
    median_weeks_to_response: float | None
    durable_3m_assessed: int
    durable_3m: int
    durable_6m_assessed: int
    durable_6m: int

    @property
    def modality_label(self) -> str:
        return MODALITY_LABELS.get(self.modality, self.modality)

    @property
    def durable_3m_rate(self) -> float | None:
        return self.durable_3m / self.durable_3m_assessed if self.durable_3m_assessed else None

    @property
    def durable_6m_rate(self) -> float | None:
        return self.durable_6m / self.durable_6m_assessed if self.durable_6m_assessed else None


FIELDS = [f.name for f in fields(OutcomeRow)]


class SecondsBetween(Func):
    """Whole seconds from ``start`` to ``end`` (two timestamps); NULL when either is NULL."""

    output_field = BigIntegerField()
    arity = 2

    def as_sql(self, compiler, connection, **extra):
        start, start_params = compiler.compile(self.source_expressions[0])
        end, end_params = compiler.compile(self.source_expressions[1])
        return seconds_sql(connection.vendor, start, end), (*end_params, *start_params)


def seconds_sql(vendor: str, start: str, end: str) -> str:
    """The SQL for whole seconds from ``start`` to ``end``: the one thing SQLite and PostgreSQL
    spell differently (``end`` comes first in the parameters)."""
    if vendor == "postgresql":
        return f"CAST(ROUND(EXTRACT(EPOCH FROM ({end} - {start}))) AS BIGINT)"
    return f"CAST(ROUND((julianday({end}) - julianday({start})) * 86400) AS INTEGER)"


def _course_phq9s() -> QuerySet[Measure]:
    """The PHQ-9s of the outer course that count toward its outcome (see the module doc)."""
    return (
        Measure.objects.filter(course=OuterRef("pk"), instrument="phq9")
        .annotate(after_end=SecondsBetween(OuterRef("ended_at"), "observed_at"))
        .filter(Q(after_end__isnull=True) | Q(after_end__lte=OUTCOME_WINDOW_DAYS * DAY))
        .order_by()
    )


def _follow_up_total(months: int) -> Subquery:
    """The total of the outer course's PHQ-9 closest to ``months`` after it ended.

    Ranked with a window function: SQLite refuses an outer column in a subquery's ORDER BY,
    but takes it in a window's, which Django puts in a derived table.
    """
    target = DURABLE_TARGET_DAYS[months] * DAY
    window = DURABLE_WINDOW_DAYS * DAY
    closest = (
        Measure.objects.filter(course=OuterRef("pk"), instrument="phq9")
        .annotate(after_end=SecondsBetween(OuterRef("ended_at"), "observed_at"))
        .filter(after_end__gte=target - window, after_end__lte=target + window)
        .annotate(
            closeness=Window(
                RowNumber(),
                order_by=[Abs(F("after_end") - target), "observed_at", "created_at", "id"],
            )
        )
        .filter(closeness=1)
        .order_by()
    )
    return Subquery(closest.values("total"))


def _courses(
    clinic_ids: Iterable,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    modality: str | None = None,
) -> QuerySet:
    courses = Course.objects.filter(clinic_id__in=list(clinic_ids)).order_by()
    if date_from is not None:
        courses = courses.filter(start_date__gte=date_from)
    if date_to is not None:
        courses = courses.filter(start_date__lte=date_to)
    if modality:
        courses = courses.filter(modality=modality)
    return courses


# The figures a course's outcome is judged from: one definition, stored per course by
# ``refresh`` and ``rebuild``, and grouped by the dashboard.
FACTS = ("baseline", "latest", "measured", "seconds_to_response", "follow_up_3m", "follow_up_6m")
# What the dashboard's grouping reads of each course, live or stored.
GROUPED_COLUMNS = ("clinic_id", "modality", "quarter", "completed", *FACTS)
_STORED = ("clinic_id", "modality", "start_date", "quarter", "completed", *FACTS)


def _judged(courses: QuerySet) -> QuerySet:
    """``courses`` with their group and the figures of ``FACTS``."""
    first = ("observed_at", "created_at", "id")
    return courses.annotate(
        baseline=Subquery(_course_phq9s().order_by(*first).values("total")[:1]),
        baseline_at=Subquery(_course_phq9s().order_by(*first).values("observed_at")[:1]),
        latest=Subquery(
            _course_phq9s().order_by(*(f"-{name}" for name in first)).values("total")[:1]
        ),
        measured=Subquery(_course_phq9s().values("course").annotate(n=Count("pk")).values("n")),
        responded_at=Subquery(
            _course_phq9s()
            .annotate(
                fall=ExpressionWrapper(
                    (OuterRef("baseline") - F("total")) * 100, output_field=IntegerField()
                ),
                needed=ExpressionWrapper(
                    OuterRef("baseline") * RESPONSE_FALL_PCT, output_field=IntegerField()
                ),
            )
            .filter(fall__gte=F("needed"))
            .order_by("observed_at")
            .values("observed_at")[:1]
        ),
    ).annotate(
        quarter=Concat(
            Cast(ExtractYear("start_date"), CharField()),
            Value("-Q"),
            Cast(ExtractQuarter("start_date"), CharField()),
            output_field=CharField(),
        ),
        completed=Q(status=CourseStatus.COMPLETED),
        seconds_to_response=SecondsBetween("baseline_at", "responded_at"),
        follow_up_3m=_follow_up_total(3),
        follow_up_6m=_follow_up_total(6),
    )


def course_facts(
    clinic_ids: Iterable,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    modality: str | None = None,
) -> QuerySet:
    """One row per course: its group and the figures its outcome is judged from, computed from
    the questionnaires now (what ``CourseOutcome`` stores)."""
    return _judged(
        _courses(clinic_ids, date_from=date_from, date_to=date_to, modality=modality)
    ).values(*GROUPED_COLUMNS)


def stored_facts(
    clinic_ids: Iterable,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    modality: str | None = None,
) -> QuerySet:
    """``course_facts`` as kept in ``CourseOutcome``: the same columns, one row per course."""
    rows = CourseOutcome.objects.filter(clinic_id__in=list(clinic_ids)).order_by()
    if date_from is not None:
        rows = rows.filter(start_date__gte=date_from)
    if date_to is not None:
        rows = rows.filter(start_date__lte=date_to)
    if modality:
        rows = rows.filter(modality=modality)
    return rows.values(*GROUPED_COLUMNS)


def refresh(course_ids: Iterable) -> None:
    """Compute the stored facts of these courses again, in the caller's transaction: called
    whenever a course or one of its questionnaires is saved or deleted."""
    ids = {value for value in course_ids if value is not None}
    if not ids:
        return
    with transaction.atomic():
        # One writer per course at a time: two questionnaires of one course saved at once
        # would otherwise both replace its row (the second failing on the key, or keeping facts
        # that miss the first). After the lock, the facts are read as the other one committed
        # them.
        locked = Course.objects.select_for_update().filter(pk__in=ids).order_by("pk")
        list(locked.values_list("pk"))
        rows = list(_judged(Course.objects.filter(pk__in=ids).order_by()).values("pk", *_STORED))
        CourseOutcome.objects.filter(course_id__in=ids).delete()
        CourseOutcome.objects.bulk_create(
            [CourseOutcome(course_id=row.pop("pk"), **row) for row in rows]
        )


def rebuild(clinic_ids: Iterable | None = None) -> int:
    """Compute every course's stored facts again (of ``clinic_ids``, or of every clinic) in one
    statement: after a bulk load that wrote around the services, or to check nothing drifted.
    Returns the number of courses."""
    courses = Course.objects.order_by()
    stored = CourseOutcome.objects.all()
    if clinic_ids is not None:
        ids = list(clinic_ids)
        courses = courses.filter(clinic_id__in=ids)
        stored = stored.filter(clinic_id__in=ids)
    select, params = _judged(courses).values("pk", *_STORED).query.sql_with_params()
    table = CourseOutcome._meta.db_table
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in ("course_id", *_STORED))
    with transaction.atomic():
        stored._raw_delete(stored.db)
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {quote(table)} ({columns}) {select}", params)
            return cursor.rowcount


# The grouping around ``course_facts``: each course counts once in each of the levels asked
# for ({levels}: 1 per clinic and quarter, 2 per quarter over the clinics, 3 over the whole
# range), so one statement serves the table, the charts and the headline. Written with the
# thresholds: {fall_*} tests a total against the baseline, {remission} is REMISSION_BELOW.
# The figures of each modality, clinic and quarter in one pass over the courses' facts; the
# responders' times to response come along as one text list per group ({times}), so that the
# pooled levels and every median are worked out from these rows without reading the courses
# again (``outcome_report``).
_GROUPED = """
WITH facts AS ({facts}),
judged AS (
    SELECT clinic_id, modality, quarter,
        CASE WHEN completed THEN 1 ELSE 0 END AS completed,
        CASE WHEN measured >= 2 THEN 1 ELSE 0 END AS assessed,
        CASE WHEN measured >= 2 AND baseline > 0 AND {fall_latest} THEN 1 ELSE 0 END
            AS responder,
        CASE WHEN measured >= 2 AND latest < {remission} THEN 1 ELSE 0 END AS remitter,
        baseline, seconds_to_response, follow_up_3m, follow_up_6m
    FROM facts
),
groups AS (
    SELECT clinic_id, modality, quarter,
        COUNT(*) AS started, SUM(completed) AS completed, SUM(assessed) AS assessed,
        SUM(responder) AS responders, SUM(remitter) AS remitters,
        SUM(CASE WHEN responder = 1 AND follow_up_3m IS NOT NULL THEN 1 ELSE 0 END) AS d3n,
        SUM(CASE WHEN responder = 1 AND {fall_3m} THEN 1 ELSE 0 END) AS d3,
        SUM(CASE WHEN responder = 1 AND follow_up_6m IS NOT NULL THEN 1 ELSE 0 END) AS d6n,
        SUM(CASE WHEN responder = 1 AND {fall_6m} THEN 1 ELSE 0 END) AS d6,
        {times} AS times
    FROM judged GROUP BY clinic_id, modality, quarter
)
SELECT g.modality, g.clinic_id, k.name, g.quarter, g.started, g.completed, g.assessed,
    g.responders, g.remitters, g.d3n, g.d3, g.d6n, g.d6, g.times
FROM groups g
LEFT JOIN accounts_clinic k ON k.id = g.clinic_id
"""
# A group's responders' seconds to response, as text ("" or NULL when none).
_TIMES = {
    "sqlite": "group_concat(CASE WHEN responder = 1 THEN seconds_to_response END, ',')",
    "postgresql": (
        "string_agg(CASE WHEN responder = 1 THEN CAST(seconds_to_response AS text) END, ',')"
    ),
}

BY_CLINIC, BY_QUARTER, OVERALL = 1, 2, 3


def _fall(column: str) -> str:
    """SQL: ``column`` is at least RESPONSE_FALL_PCT % below the baseline (whole numbers)."""
    return (
        f"({column} IS NOT NULL AND (baseline - {column}) * 100 >= {RESPONSE_FALL_PCT} * baseline)"
    )


def outcome_table(
    clinic_ids: list,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    modality: str | None = None,
    live: bool = False,
) -> list[OutcomeRow]:
    """The outcome figures per modality, clinic and quarter of the courses of ``clinic_ids``
    started from ``date_from`` to ``date_to`` (inclusive, either optional), in one query.

    Rows come by modality (IV ketamine, esketamine, TMS), clinic name, then quarter. The
    caller decides which clinics a user may see.
    """
    return outcome_report(
        clinic_ids,
        date_from=date_from,
        date_to=date_to,
        modality=modality,
        levels=(BY_CLINIC,),
        live=live,
    )[BY_CLINIC]


def outcome_report(
    clinic_ids: list,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    modality: str | None = None,
    levels: tuple[int, ...] = (BY_CLINIC, BY_QUARTER, OVERALL),
    live: bool = False,
) -> dict[int, list[OutcomeRow]]:
    """``outcome_table``'s figures at several levels in one query: ``BY_CLINIC`` (per
    modality, clinic and quarter), ``BY_QUARTER`` (per modality and quarter, the clinics
    pooled) and ``OVERALL`` (per modality over the whole range; ``quarter`` is ""). Pooled rows
    have ``clinic_id`` None and ``clinic_name`` ``NETWORK``.

    Grouped from each course's stored facts (``CourseOutcome``); ``live`` computes them from
    the questionnaires instead, as the stored ones were (the tests compare the two)."""
    ids = [UUID(str(value)) for value in clinic_ids]
    report: dict[int, list[OutcomeRow]] = {level: [] for level in levels}
    if not ids or not levels:
        return report
    facts = course_facts if live else stored_facts
    facts_sql, params = facts(
        ids, date_from=date_from, date_to=date_to, modality=modality
    ).query.sql_with_params()
    # The replica inside ``replica.from_replica()`` when there is one (the router sees no raw SQL).
    alias = replica.read_alias()
    database = connections[alias]
    sql = _GROUPED.format(
        facts=facts_sql,
        times=_TIMES[database.vendor],
        remission=REMISSION_BELOW,
        fall_latest=_fall("latest"),
        fall_3m=_fall("follow_up_3m"),
        fall_6m=_fall("follow_up_6m"),
    )
    with transaction.atomic(using=alias), database.cursor() as cursor:
        if database.vendor == "postgresql":
            # For this transaction only: no just-in-time compiling, which costs PostgreSQL more
            # than running the statement (about 1.1 s of 1.6 s for 10,000 patients); and room
            # to group the courses in memory, where the default 4 MB has the grouping sort
            # spill to disk from about 100,000 courses on (0.195 s → 0.127 s at 100,000).
            cursor.execute(
                "SELECT set_config('jit', 'off', true), set_config('work_mem', '64MB', true)"
            )
        cursor.execute(sql, params)
        found = cursor.fetchall()
    # Each level's groups: a clinic's rows as they came; the pooled levels add them up.
    pooled: dict[int, dict[tuple, _Group]] = {level: {} for level in levels}
    for modality_code, clinic, name, quarter, *counts, times in found:
        clinic_id = UUID(str(clinic))
        # Read once, then added to the group of each level.
        counts = [int(count) for count in counts]
        seconds = [float(value) for value in times.split(",")] if times else []
        for level in levels:
            if level == BY_CLINIC:
                key = (modality_code, clinic_id, name, quarter)
            else:
                key = (modality_code, None, NETWORK, quarter if level == BY_QUARTER else "")
            group = pooled[level].setdefault(key, _Group())
            group.add(counts, seconds)
    for level, groups in pooled.items():
        for (modality_code, clinic_id, name, quarter), group in groups.items():
            report[level].append(group.row(modality_code, clinic_id, name, quarter))
    return {level: sorted(rows, key=sort_key) for level, rows in report.items()}


class _Group:
    """The counts of one group of courses, and its responders' seconds to response."""

    def __init__(self) -> None:
        self.counts = [0] * 9
        self.times: list[float] = []

    def add(self, counts: list[int], seconds: list[float]) -> None:
        self.counts = [mine + theirs for mine, theirs in zip(self.counts, counts, strict=True)]
        self.times += seconds

    def row(self, modality_code: str, clinic_id, name: str, quarter: str) -> OutcomeRow:
        started, completed, assessed, responders, remitters, d3n, d3, d6n, d6 = self.counts
        median = statistics.median(self.times) if self.times else None
        return OutcomeRow(
            modality=modality_code,
            clinic_id=clinic_id,
            clinic_name=name,
            quarter=quarter,
            courses_started=started,
            courses_completed=completed,
            assessed=assessed,
            responders=responders,
            remitters=remitters,
            response_rate=responders / assessed if assessed else None,
            remission_rate=remitters / assessed if assessed else None,
            median_weeks_to_response=median / (7 * DAY) if median is not None else None,
            durable_3m_assessed=d3n,
            durable_3m=d3,
            durable_6m_assessed=d6n,
            durable_6m=d6,
        )


def sort_key(row: OutcomeRow) -> tuple:
    modality = MODALITY_ORDER.index(row.modality) if row.modality in MODALITY_ORDER else 99
    return (modality, row.clinic_name.casefold(), str(row.clinic_id or ""), row.quarter)
