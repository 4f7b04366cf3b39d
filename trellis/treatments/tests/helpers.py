"""What tests pass when they start a course of any protocol."""

from datetime import date

from trellis.treatments.concomitant import Concomitant

# An esketamine course records its oral antidepressant [R95]; tests start courses from 2026.
SERTRALINE = Concomitant(name="Sertraline", dose="100 mg daily", started_on=date(2025, 6, 2))


def antidepressant(protocol: str) -> Concomitant | None:
    """The concomitant record a course of ``protocol`` starts with in tests."""
    return SERTRALINE if protocol.startswith("esketamine") else None
