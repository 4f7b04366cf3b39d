"""The built-in protocol library: data with sources (DOMAIN.md §1–3, §9).

A protocol's ``source`` is what the API and the course pages show: its references in readable
form ("Andrade 2017 [R1]; …"), written out in ``docs/sources.md``.

Each protocol names the calendar it follows (``schedule`` — a planner in ``schedule.py``) and the
defaults a session starts from. A clinic may add its own protocols on the same calendars.
"""

from trellis.lib import sources
from trellis.patients.modality import Modality
from trellis.treatments import schedule

IV_KETAMINE = Modality.IV_KETAMINE
ESKETAMINE = Modality.ESKETAMINE
TMS = Modality.TMS
ORAL_KETAMINE = Modality.ORAL_KETAMINE

# The most an oral or sublingual dose may be, in mg, unless the clinic's own limit
# (``oral_ketamine_max_mg``) is lower: the top of the fixed doses used per session, 25–300 mg
# [R81]; for sublingual ketamine-assisted psychotherapy, the 100–200 mg a compounding pharmacy
# reports (a vendor's claim) [R82].
ORAL_MAX_MG = 300
SUBLINGUAL_KAP_MAX_MG = 200

BUILTIN = [
    {
        "code": "ketamine-iv-induction",
        "modality": IV_KETAMINE,
        "name": "IV ketamine induction series",
        "schedule": schedule.KETAMINE_IV_INDUCTION,
        "sessions": 6,
        "description": "Six infusions of 0.5 mg/kg over 40 minutes, three a week over two weeks.",
        "defaults": {"dose_mg_per_kg": 0.5, "minutes": 40},
        # 0.5 mg/kg over 40 min [R1, R11]; 6 infusions 3×/wk over 12 days [R2] or 2 wk [R3].
        "source": sources.readable("[R1, R2, R3, R11]"),
    },
    {
        "code": "ketamine-iv-maintenance",
        "modality": IV_KETAMINE,
        "name": "IV ketamine maintenance",
        "schedule": schedule.KETAMINE_IV_MAINTENANCE,
        "sessions": 4,
        "description": "For responders: four once-weekly infusions of 0.5 mg/kg over 40 minutes.",
        "defaults": {"dose_mg_per_kg": 0.5, "minutes": 40},
        "source": sources.readable("[R1, R3]"),
    },
    {
        "code": "esketamine-trd",
        "modality": ESKETAMINE,
        "name": "Esketamine (Spravato) for TRD, per label",
        "schedule": schedule.ESKETAMINE_TRD,
        "sessions": 12,
        "description": "Weeks 1–4 twice weekly (day 1 56 mg, then 56 or 84 mg), weeks 5–8 weekly; "
        "then every 1–2 weeks. At least 2 hours of monitoring after each dose.",
        "defaults": {"first_dose_mg": 56, "dose_mg": 56, "monitoring_minutes": 120},
        "source": sources.readable("[R22, R28]"),
    },
    {
        "code": "ketamine-oral-supervised",
        "modality": ORAL_KETAMINE,
        "name": "Oral ketamine, supervised in the clinic",
        "schedule": schedule.KETAMINE_ORAL_WEEKLY,
        "sessions": schedule.ORAL_WEEKLY_SESSIONS,
        "description": "Off-label, compounded: a fixed dose of 25–300 mg, or a weight-based "
        "dose found by titration (oral is ~20–25 % bioavailable: 2.0–2.5 mg/kg by mouth ≈ "
        "0.5 mg/kg IV). Once a week for six weeks, monitored and discharged to an escort as "
        "after an infusion. Evidence low-grade; third line (CANMAT 2023).",
        "defaults": {"route": "oral", "form": "tablet", "max_dose_mg": ORAL_MAX_MG},
        "source": sources.readable("[R81, R84, R86, R10]"),
    },
    {
        "code": "ketamine-sublingual-kap",
        "modality": ORAL_KETAMINE,
        "name": "Sublingual ketamine with psychotherapy (KAP)",
        "schedule": schedule.KETAMINE_ORAL_WEEKLY,
        "sessions": schedule.ORAL_WEEKLY_SESSIONS,
        "description": "Preparation, then six weekly dosing sessions of 100–200 mg sublingual "
        "ketamine (troche or lozenge) with a therapist present, integration between doses. "
        "Off-label, compounded; evidence open-label.",
        "defaults": {
            "route": "sublingual",
            "form": "troche",
            "dose_mg": 100,
            "max_dose_mg": SUBLINGUAL_KAP_MAX_MG,
        },
        "source": sources.readable("[R82, R83, R96, R98]"),
    },
    {
        "code": "tms-10hz",
        "modality": TMS,
        "name": "TMS 10 Hz, left DLPFC",
        "schedule": schedule.TMS_10HZ,
        "sessions": 36,
        "description": "120% MT, 4 s trains of 40 pulses, 26 s apart, 75 trains = 3,000 pulses "
        "(~37.5 min); 30 sessions over 6 weeks, then a 3-2-1 taper.",
        "defaults": {"intensity_pct_mt": 120, "pulses": 3000, "frequency_hz": 10},
        "source": sources.readable("[R31, R32, R35, R37]"),
    },
    {
        "code": "tms-itbs",
        "modality": TMS,
        "name": "TMS intermittent theta burst (iTBS)",
        "schedule": schedule.TMS_ITBS,
        "sessions": 36,
        "description": "600 pulses at 120% MT in about 3 minutes, one session a day; "
        "30 sessions over 6 weeks, then a 3-2-1 taper.",
        "defaults": {"intensity_pct_mt": 120, "pulses": 600},
        "source": sources.readable("[R33, R34, R35, R37]"),
    },
    {
        "code": "tms-accelerated-itbs",
        "modality": TMS,
        "name": "Accelerated iTBS (SAINT/SNT-style)",
        "schedule": schedule.TMS_ACCELERATED_ITBS,
        "sessions": 50,
        "description": "Ten iTBS sessions of 1,800 pulses a day with 50-minute gaps, for 5 days "
        "(90,000 pulses); 90% resting MT, depth-adjusted; neuronavigated target.",
        "defaults": {"intensity_pct_mt": 90, "pulses": 1800},
        "source": sources.readable("[R33, R36]"),
    },
]
