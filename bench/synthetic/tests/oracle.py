"""The oracle comparison: the dashboard's ``outcome_table`` beside the hand-written SQL of
``bench.synthetic.reference``, every field of every row."""

import math

from bench.synthetic.reference import reference_rows
from trellis.reports.outcomes import FIELDS, OutcomeRow, outcome_table


def as_tuple(row: OutcomeRow) -> tuple:
    return tuple(getattr(row, name) for name in FIELDS)


class OracleMixin:
    """Compare ``outcome_table`` with the hand-written SQL, every field of every row."""

    def assert_matches_reference(self, clinic_ids, **filters) -> list[OutcomeRow]:
        rows = outcome_table(clinic_ids, **filters)
        mine = sorted((as_tuple(row) for row in rows), key=lambda t: (t[0], str(t[1]), t[3]))
        theirs = sorted(
            reference_rows(clinic_ids, **filters), key=lambda t: (t[0], str(t[1]), t[3])
        )
        self.assertEqual(len(mine), len(theirs), "different groups")
        for a, b in zip(mine, theirs, strict=True):
            for name, x, y in zip(FIELDS, a, b, strict=True):
                if isinstance(x, float) or isinstance(y, float):
                    both = x is not None and y is not None
                    same = (x is None and y is None) or (both and math.isclose(x, y, rel_tol=1e-9))
                    self.assertTrue(same, f"{name} of {a[:4]}: {x!r} != {y!r}")
                else:
                    self.assertEqual(x, y, f"{name} of {a[:4]}")
        return rows
