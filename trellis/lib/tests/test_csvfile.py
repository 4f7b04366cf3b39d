"""CSV exports cannot carry a formula into the spreadsheet that opens them (OWASP CSV Injection)."""

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import trellis
from trellis.lib.csvfile import safe_cell
from trellis.reports.tests.helpers import make_course, trajectory
from trellis.testing import TrellisTestCase, actor_for, make_patient


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            '=HYPERLINK("https://evil.example","Open")',
            '\'=HYPERLINK("https://evil.example","Open")',
        ),
        ("=1+2", "'=1+2"),
        ("+1 555 0199", "'+1 555 0199"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+2", "'\t=1+2"),
        ("\r=1+2", "'\r=1+2"),
        ("-", "'-"),
        ("+", "'+"),
        # Figures stay figures.
        ("-45.0000", "-45.0000"),
        ("+12", "+12"),
        ("-.5", "-.5"),
        ("-1e5", "-1e5"),
        ("-1e5+1", "'-1e5+1"),
        # Ordinary text, numbers and empty cells are unchanged.
        ("Ada Lovelace", "Ada Lovelace"),
        ("a=b", "a=b"),
        (" =1+2", " =1+2"),
        ("'=1+2", "'=1+2"),
        ("", ""),
        (None, None),
        (-3, -3),
        (Decimal("-1.5"), Decimal("-1.5")),
        (date(2026, 1, 5), date(2026, 1, 5)),
    ],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_every_csv_export_writes_through_the_one_helper():
    root = Path(trellis.__file__).parent
    direct = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "tests" not in path.parts
        and path.name != "csvfile.py"
        and ("csv.writer(" in path.read_text() or "csv.DictWriter(" in path.read_text())
    ]
    assert direct == [], "write CSV with trellis.lib.csvfile.writer"


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


class ExportTests(TrellisTestCase):
    def test_the_audit_export_neutralises_a_formula_in_a_patients_name(self):
        front = actor_for(self.front_desk, self.clinic_a)
        patient = make_patient(front, '=HYPERLINK("https://evil.example","Open")', "Smith")
        self.sign_in(self.admin)
        response = self.client.get("/audit/export.csv", {"patient": patient.mrn})
        rows = read_csv(b"".join(response.streaming_content).decode())
        names = {row[5] for row in rows[1:]}
        self.assertEqual(names, {'\'=HYPERLINK("https://evil.example","Open") Smith'})

    def test_the_outcomes_export_neutralises_a_formula_in_a_clinics_name(self):
        trajectory(make_course(self.patient, self.prescriber), [20, 10])
        self.clinic_a.name = "@SUM(1+1)*cmd|' /C calc'!A0"
        self.clinic_a.save(update_fields=["name"])
        self.sign_in(self.admin)
        rows = list(
            csv.DictReader(io.StringIO(self.client.get("/reports/outcomes.csv").content.decode()))
        )
        self.assertEqual({row["clinic"] for row in rows}, {"'@SUM(1+1)*cmd|' /C calc'!A0"})
