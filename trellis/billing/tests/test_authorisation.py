"""Prior authorisation rules, table-driven: the criteria checklist (DOMAIN.md §6 [R38, R37,
R22, R61, R127]), the sessions left and the window, and the CMS-0057-F deadline [R128]."""

from datetime import UTC, date, datetime

import pytest

from trellis.billing import authorisation as pa
from trellis.billing.authorisation import Facts, Level, Status, Usage

FULL = Facts(
    age_years=40,
    phq9_total=19,
    phq9_on=date(2026, 3, 1),
    failed_trials=2,
    failed_drugs=("sertraline", "bupropion"),
    sessions_planned=36,
)


def status_of(service, facts, key):
    return {row.key: row for row in pa.checklist(service, facts)}[key]


@pytest.mark.parametrize(
    ("changes", "key", "status"),
    [
        ({}, "adult", Status.MET),
        ({"age_years": 18}, "adult", Status.MET),
        ({"age_years": 17}, "adult", Status.NOT_MET),
        ({"age_years": None}, "adult", Status.UNKNOWN),
        ({"phq9_total": 15}, "phq9", Status.MET),  # PHQ-9 ≥ 15 [R38]
        ({"phq9_total": 14}, "phq9", Status.NOT_MET),
        ({"phq9_total": None}, "phq9", Status.UNKNOWN),
        ({"failed_trials": 2}, "failed_trials", Status.MET),  # ≥ 2 failed [R38]
        ({"failed_trials": 1}, "failed_trials", Status.NOT_MET),
        ({"failed_trials": 0}, "failed_trials", Status.NOT_MET),
        ({"failed_trials": None}, "failed_trials", Status.UNKNOWN),
        ({"sessions_planned": 36}, "sessions", Status.MET),  # ≤ 36 sessions [R38]
        ({"sessions_planned": 37}, "sessions", Status.NOT_MET),
        ({"sessions_planned": 50}, "sessions", Status.NOT_MET),
        ({}, "psychotherapy", Status.UNKNOWN),
        ({}, "device", Status.UNKNOWN),
        ({}, "trial_classes", Status.UNKNOWN),
    ],
)
def test_each_tms_criterion_reads_the_record(changes, key, status):
    facts = Facts(**{**FULL.__dict__, **changes})
    assert status_of("tms", facts, key).status == status


def test_each_criterion_cites_its_source_and_says_its_evidence():
    rows = pa.checklist("tms", FULL)
    assert [r.key for r in rows] == [
        "adult",
        "phq9",
        "failed_trials",
        "trial_classes",
        "psychotherapy",
        "device",
        "sessions",
    ]
    assert all(r.source.startswith("[R") for r in rows)
    assert status_of("tms", FULL, "phq9").evidence == "Latest PHQ-9 19 on Mar 1, 2026"
    assert "sertraline, bupropion" in status_of("tms", FULL, "failed_trials").evidence
    strict = Facts(**{**FULL.__dict__, "phq9_total": 22})
    assert "above 20" in status_of("tms", strict, "phq9").evidence  # BCBSM's bar [R37]


def test_esketamine_and_ketamine_have_no_session_cap_or_device():
    for service in ("esketamine", "iv_ketamine"):
        keys = [r.key for r in pa.checklist(service, FULL)]
        assert keys == ["adult", "phq9", "failed_trials", "trial_classes"]


def test_a_prescribers_attestation_answers_only_what_the_record_cannot():
    facts = Facts(
        **{
            **FULL.__dict__,
            "phq9_total": 10,
            "attestations": {
                "psychotherapy": {"status": "met", "note": "CBT 2025", "by": "Dr Ng"},
                "phq9": {"status": "met", "by": "Dr Ng"},  # not attestable: ignored
            },
        }
    )
    psychotherapy = status_of("tms", facts, "psychotherapy")
    assert (psychotherapy.status, psychotherapy.attested) == (Status.MET, True)
    assert psychotherapy.evidence == "Attested by Dr Ng: CBT 2025"
    assert status_of("tms", facts, "phq9").status == Status.NOT_MET


@pytest.mark.parametrize(
    ("statuses", "overall"),
    [
        ([Status.MET, Status.MET], Status.MET),
        ([Status.MET, Status.UNKNOWN], Status.UNKNOWN),
        ([Status.UNKNOWN, Status.NOT_MET], Status.NOT_MET),
    ],
)
def test_the_overall_answer(statuses, overall):
    rows = [pa.Criterion(str(i), "x", s, "", "[R38]") for i, s in enumerate(statuses)]
    assert pa.overall(rows) == overall


TODAY = date(2026, 3, 10)


def usage(approved=36, used=10, to_come=20, ends_on=date(2026, 6, 30), warn=3):
    return Usage(approved, used, to_come, date(2026, 3, 1), ends_on, TODAY, warn)


@pytest.mark.parametrize(
    ("kwargs", "levels"),
    [
        ({}, [Level.OK]),
        ({"used": 33}, [Level.LOW]),  # 3 left = the clinic's warning
        ({"used": 32}, [Level.OK]),
        ({"used": 36}, [Level.USED_UP]),
        ({"used": 37}, [Level.EXCEEDED]),
        ({"used": 36, "to_come": 0}, [Level.OK]),  # nothing more to come: nothing to ask
        ({"ends_on": date(2026, 3, 24)}, [Level.EXPIRING]),  # 14 days
        ({"ends_on": date(2026, 3, 25)}, [Level.OK]),  # 15 days
        ({"ends_on": date(2026, 3, 10)}, [Level.EXPIRING]),  # ends today
        ({"ends_on": date(2026, 3, 9)}, [Level.EXPIRED]),
        ({"ends_on": date(2026, 3, 9), "to_come": 0}, [Level.OK]),
        ({"used": 34, "ends_on": date(2026, 3, 20)}, [Level.LOW, Level.EXPIRING]),
        ({"ends_on": None}, [Level.OK]),
    ],
)
def test_warnings_come_before_the_sessions_or_the_window_run_out(kwargs, levels):
    found = usage(**kwargs)
    assert found.levels == levels
    assert len(found.messages()) == (0 if levels == [Level.OK] else len(levels))


def test_the_messages_say_what_is_left():
    assert usage(used=34).messages() == ["Only 2 of 36 approved sessions left."]
    assert usage(ends_on=date(2026, 3, 11)).messages() == [
        "Authorisation window ends in 1 day (Mar 11, 2026)."
    ]


SUBMITTED = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("payer_type", "urgent", "submitted", "due"),
    [
        ("medicare_advantage", True, SUBMITTED, datetime(2026, 3, 5, 15, 0, tzinfo=UTC)),
        ("medicaid", False, SUBMITTED, datetime(2026, 3, 9, 15, 0, tzinfo=UTC)),
        ("chip", False, SUBMITTED, datetime(2026, 3, 9, 15, 0, tzinfo=UTC)),
        ("exchange", True, SUBMITTED, datetime(2026, 3, 5, 15, 0, tzinfo=UTC)),
        ("commercial", True, SUBMITTED, None),  # not a CMS-0057-F payer
        ("medicare", False, SUBMITTED, None),
        ("medicaid", False, datetime(2025, 12, 31, 12, tzinfo=UTC), None),  # before 2026
        ("medicaid", False, None, None),
    ],
)
def test_the_payers_decision_deadline(payer_type, urgent, submitted, due):
    assert pa.decision_due(payer_type, submitted, urgent=urgent) == due


def test_drug_requests_carry_the_open_question():
    assert "not confirmed" in pa.deadline_caveat("esketamine")
    assert pa.deadline_caveat("tms") == ""
