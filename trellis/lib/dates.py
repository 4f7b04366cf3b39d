import re
from datetime import date, datetime


def parse_search_date(text: str) -> date | None:
    """A date typed into a search box: 1984-03-07, 03/07/1984 (US order) or 7.3.1984."""
    text = text.strip()
    for pattern in ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_iso_date(text: str) -> date:
    """A date written YYYY-MM-DD that the calendar has, as in an address (``?date=``); a
    ValueError says which rule it breaks, in the API's words (``lib.schema.Date``)."""
    text = text.strip()
    if not _ISO_DATE.fullmatch(text):
        raise ValueError(f"“{text[:20]}” must be a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text} is not a calendar date") from None
