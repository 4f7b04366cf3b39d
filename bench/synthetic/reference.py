"""The outcome figures as one hand-written SQL statement: the tests' oracle and the benchmark's
limit for ``trellis.reports.outcomes.outcome_table``.

Written apart from it, with window functions instead of correlated subqueries, from the
definitions in ``docs/reports.md``. Plain SQL that SQLite (3.25 or later) and PostgreSQL both
run; the one thing they spell differently, whole seconds between two timestamps, is written
``SECONDS(start, end)`` and expanded for the database before it runs. Durations are in
seconds: the outcome window (``trellis.measures.outcomes.OUTCOME_WINDOW_DAYS``, 21 days) is
filled in from the one constant the application uses;
91 days = 7862400, 182 days = 15724800, 30 days = 2592000.
"""

from __future__ import annotations

import re
from datetime import date
from uuid import UUID

from django.db import connection
from django.db.models import DateField, UUIDField

from trellis.measures.outcomes import OUTCOME_WINDOW

SQL = """
WITH course AS (
    SELECT c.id AS course_id, c.clinic_id, c.modality, c.status, c.ended_at,
        SUBSTR(CAST(c.start_date AS VARCHAR(10)), 1, 4) || '-Q'
            || CAST((CAST(SUBSTR(CAST(c.start_date AS VARCHAR(10)), 6, 2) AS INTEGER) + 2) / 3
                AS VARCHAR(1)) AS quarter
    FROM treatments_course c
    WHERE c.clinic_id IN ({clinics}) {dates}
),
acute AS (
    SELECT m.course_id, m.total, m.observed_at,
        ROW_NUMBER() OVER (PARTITION BY m.course_id
            ORDER BY m.observed_at, m.created_at, m.id) AS from_first,
        ROW_NUMBER() OVER (PARTITION BY m.course_id
            ORDER BY m.observed_at DESC, m.created_at DESC, m.id DESC) AS from_last,
        COUNT(*) OVER (PARTITION BY m.course_id) AS measured
    FROM measures_measure m
    JOIN course c ON c.course_id = m.course_id
    WHERE m.instrument = 'phq9'
        AND (c.ended_at IS NULL OR SECONDS(c.ended_at, m.observed_at) <= {window_seconds})
),
judged AS (
    SELECT c.course_id, c.clinic_id, c.modality, c.quarter, c.status, c.ended_at,
        b.total AS baseline, b.observed_at AS baseline_at, l.total AS latest,
        COALESCE(b.measured, 0) AS measured,
        CASE WHEN b.measured >= 2 AND b.total > 0 AND 2 * l.total <= b.total
            THEN 1 ELSE 0 END AS responder,
        CASE WHEN b.measured >= 2 AND l.total < 5 THEN 1 ELSE 0 END AS remitter
    FROM course c
    LEFT JOIN acute b ON b.course_id = c.course_id AND b.from_first = 1
    LEFT JOIN acute l ON l.course_id = c.course_id AND l.from_last = 1
),
first_response AS (
    SELECT course_id,
        CAST(SECONDS(baseline_at, responded_at) AS DOUBLE PRECISION) / 604800 AS weeks
    FROM (
        SELECT j.course_id, j.baseline_at, MIN(a.observed_at) AS responded_at
        FROM judged j
        JOIN acute a ON a.course_id = j.course_id AND 2 * a.total <= j.baseline
        WHERE j.responder = 1
        GROUP BY j.course_id, j.baseline_at
    ) responses
),
follow_up AS (
    SELECT j.course_id, w.months,
        CASE WHEN 2 * m.total <= j.baseline THEN 1 ELSE 0 END AS kept,
        ROW_NUMBER() OVER (PARTITION BY j.course_id, w.months
            ORDER BY ABS(SECONDS(j.ended_at, m.observed_at) - w.target),
                m.observed_at, m.created_at, m.id) AS closeness
    FROM judged j
    JOIN measures_measure m ON m.course_id = j.course_id AND m.instrument = 'phq9'
    JOIN (SELECT 3 AS months, 7862400 AS target UNION ALL SELECT 6, 15724800) w
        ON SECONDS(j.ended_at, m.observed_at) BETWEEN w.target - 2592000 AND w.target + 2592000
    WHERE j.responder = 1
),
durable AS (
    SELECT course_id, months, kept FROM follow_up WHERE closeness = 1
),
ranked AS (
    SELECT j.clinic_id, j.modality, j.quarter, r.weeks,
        ROW_NUMBER() OVER (PARTITION BY j.clinic_id, j.modality, j.quarter ORDER BY r.weeks)
            AS place,
        COUNT(*) OVER (PARTITION BY j.clinic_id, j.modality, j.quarter) AS size
    FROM judged j JOIN first_response r ON r.course_id = j.course_id
),
median AS (
    SELECT clinic_id, modality, quarter, AVG(weeks) AS weeks
    FROM ranked WHERE place IN ((size + 1) / 2, (size + 2) / 2)
    GROUP BY clinic_id, modality, quarter
),
grouped AS (
    SELECT j.clinic_id, j.modality, j.quarter,
        COUNT(*) AS started,
        SUM(CASE WHEN j.status = 'completed' THEN 1 ELSE 0 END) AS completed,
        SUM(CASE WHEN j.measured >= 2 THEN 1 ELSE 0 END) AS assessed,
        SUM(j.responder) AS responders,
        SUM(j.remitter) AS remitters,
        SUM(CASE WHEN d3.course_id IS NOT NULL THEN 1 ELSE 0 END) AS d3n,
        SUM(COALESCE(d3.kept, 0)) AS d3,
        SUM(CASE WHEN d6.course_id IS NOT NULL THEN 1 ELSE 0 END) AS d6n,
        SUM(COALESCE(d6.kept, 0)) AS d6
    FROM judged j
    LEFT JOIN durable d3 ON d3.course_id = j.course_id AND d3.months = 3
    LEFT JOIN durable d6 ON d6.course_id = j.course_id AND d6.months = 6
    GROUP BY j.clinic_id, j.modality, j.quarter
)
SELECT g.modality, g.clinic_id, k.name, g.quarter, g.started, g.completed, g.assessed,
    g.responders, g.remitters,
    CASE WHEN g.assessed > 0
        THEN CAST(g.responders AS DOUBLE PRECISION) / g.assessed END AS response_rate,
    CASE WHEN g.assessed > 0
        THEN CAST(g.remitters AS DOUBLE PRECISION) / g.assessed END AS remission_rate,
    m.weeks, g.d3n, g.d3, g.d6n, g.d6
FROM grouped g
JOIN accounts_clinic k ON k.id = g.clinic_id
LEFT JOIN median m
    ON m.clinic_id = g.clinic_id AND m.modality = g.modality AND m.quarter = g.quarter
ORDER BY g.modality, g.clinic_id, g.quarter
"""

_SECONDS = re.compile(r"SECONDS\(([\w.]+), ([\w.]+)\)")
# Whole seconds from the first timestamp to the second, as each database says it.
SECONDS = {
    "sqlite": "CAST(ROUND((julianday({end}) - julianday({start})) * 86400) AS INTEGER)",
    "postgresql": "CAST(ROUND(EXTRACT(EPOCH FROM ({end} - {start}))) AS BIGINT)",
}


def statement(vendor: str, clinics: int, *, date_from: bool = False, date_to: bool = False):
    """The statement for ``vendor`` with placeholders for ``clinics`` clinic ids (and dates)."""
    dates = ""
    if date_from:
        dates += " AND c.start_date >= %s"
    if date_to:
        dates += " AND c.start_date <= %s"
    sql = SQL.format(
        clinics=", ".join(["%s"] * clinics),
        dates=dates,
        window_seconds=int(OUTCOME_WINDOW.total_seconds()),
    )
    return _SECONDS.sub(lambda m: SECONDS[vendor].format(start=m[1], end=m[2]), sql)


def reference_rows(
    clinic_ids: list, *, date_from: date | None = None, date_to: date | None = None
) -> list[tuple]:
    """One tuple per (modality, clinic, quarter), in ``OutcomeRow``'s field order, ordered by
    modality code, clinic id and quarter. Ids come back as UUIDs and numbers as int or float,
    whichever database ran it."""
    ids = [UUID(str(value)) for value in clinic_ids]
    if not ids:
        return []
    as_id, as_date = UUIDField(), DateField()
    params = [as_id.get_db_prep_value(value, connection) for value in ids]
    params += [as_date.get_db_prep_value(d, connection) for d in (date_from, date_to) if d]
    sql = statement(
        connection.vendor, len(ids), date_from=date_from is not None, date_to=date_to is not None
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    rows = []
    for row in found:
        modality, clinic, name, quarter = row[:4]
        counts = [int(n) for n in row[4:9]]
        figures = [float(x) if x is not None else None for x in row[9:12]]
        durable = [int(n) for n in row[12:16]]
        rows.append((modality, UUID(str(clinic)), name, quarter, *counts, *figures, *durable))
    return rows
