"""When a notification may go out, given the patient's quiet hours. Pure: no Django.

Quiet hours are wall-clock times in the clinic's time zone, from ``start`` (inclusive) to
``end`` (exclusive). A window whose start is later than its end crosses midnight (21:00–08:00,
the default); a start equal to the end means no quiet hours. A moment inside the window waits
until the window's end, on the wall clock: on the day clocks change, 08:00 is still 08:00 even
though the night was an hour shorter or longer. An end that falls in the hour skipped in spring
(02:30 on that day) is read as the same distance after midnight on the old offset, which is the
first moment after the gap (03:30).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def is_quiet(local: time, start: time, end: time) -> bool:
    """Whether the wall-clock time ``local`` lies in the quiet window ``start``–``end``."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def send_at(moment: datetime, start: time, end: time, zone: ZoneInfo) -> datetime:
    """The earliest moment from ``moment`` (timezone-aware) a message may be sent: ``moment``
    itself outside quiet hours, else the end of the quiet window it falls in. In UTC."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    local = moment.astimezone(zone)
    wall = local.time().replace(tzinfo=None)
    if not is_quiet(wall, start, end):
        return moment.astimezone(UTC)
    day = local.date()
    if start > end and wall >= start:
        # In the evening part of a window that crosses midnight: it ends tomorrow morning.
        day = day + timedelta(days=1)
    ends = _wall(day, end, zone, fold=0)
    if ends < moment:
        # The hour that happens twice in autumn, already in its second run: the window ends
        # at the second 01:30, not the first.
        ends = _wall(day, end, zone, fold=1)
    return max(ends, moment.astimezone(UTC))


def _wall(day: date, at: time, zone: ZoneInfo, *, fold: int) -> datetime:
    # fold=0: an hour that happens twice (autumn) is taken the first time; an hour that does
    # not happen (spring) is read on the offset before the change, i.e. just after the gap.
    return datetime.combine(day, at.replace(fold=fold), tzinfo=zone).astimezone(UTC)
