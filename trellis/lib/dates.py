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
