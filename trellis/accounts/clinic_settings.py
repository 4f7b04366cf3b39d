"""Clinic settings: every value a clinic may change, with its default and where it comes from.

A clinic stores only what it overrides (``Clinic.settings``); everything else is the default
below. Clinical thresholds cite their references (``[R16]``, written out in ``docs/sources.md``; the
clinic settings page links each to the Sources page); policy values say whose policy they are.
"""

from dataclasses import dataclass

from trellis.lib.errors import InputError


@dataclass(frozen=True)
class SettingDef:
    key: str
    label: str
    default: int | float
    minimum: int | float
    maximum: int | float
    unit: str
    source: str
    # A setting that picks one of a few options: (stored value, what it means).
    choices: tuple[tuple[int, str], ...] = ()


DEFINITIONS: dict[str, SettingDef] = {
    d.key: d
    for d in (
        SettingDef(
            "idle_logoff_minutes",
            "Sign staff out after this long without activity",
            15,
            2,
            120,
            "minutes",
            "Clinic policy; HIPAA Security Rule automatic logoff, 45 CFR 164.312(a)(2)(iii)",
        ),
        SettingDef(
            "screening_bp_systolic_caution",
            "Screening systolic BP above which esketamine and IV ketamine need caution",
            140,
            100,
            220,
            "mmHg",
            "Spravato label pre-dose 'general guide' 140/90 [R16, R22]",
        ),
        SettingDef(
            "screening_bp_diastolic_caution",
            "Screening diastolic BP above which esketamine and IV ketamine need caution",
            90,
            50,
            140,
            "mmHg",
            "Spravato label pre-dose 'general guide' 140/90 [R16, R22]",
        ),
        SettingDef(
            "screening_lorazepam_eq_max",
            "Benzodiazepine dose above which IV ketamine needs caution",
            3.0,
            0.5,
            20.0,
            "mg/day lorazepam equivalent",
            "Ketamine trial exclusion >3 mg/day [R18]",
        ),
        SettingDef(
            "screening_minimum_age",
            "Minimum age for esketamine and the adult IV ketamine protocols",
            18,
            16,
            25,
            "years",
            "Esketamine not approved under 18 [R16, R19]",
        ),
        SettingDef(
            "trd_adequacy_weeks",
            "Weeks at an adequate dose for an antidepressant trial to count",
            6,
            4,
            12,
            "weeks",
            "TRD definition [R61]; payer criteria ≥6 weeks [R37]",
        ),
        SettingDef(
            "trd_min_failed_trials",
            "Failed adequate trials that make depression treatment-resistant",
            2,
            2,
            6,
            "trials",
            "TRD: inadequate response to ≥2 antidepressants [R61]",
        ),
        # --- Session documentation (DOMAIN.md §1–3). No consensus numbers exist for pausing
        # or stopping an infusion on blood pressure (§8 item 1 [R8]): these are conservative
        # defaults for a clinic to set, the alert level at Murrough's stop reading [R2].
        SettingDef(
            "vitals_interval_minutes",
            "Take vital signs every",
            10,
            5,
            30,
            "minutes",
            "BP every 10 min during infusion [R5, R6, R7]",
        ),
        SettingDef(
            "vitals_bp_systolic_flag",
            "Flag systolic BP at or above",
            160,
            120,
            220,
            "mmHg",
            "Clinic policy; no consensus threshold [R6, R7, R8]",
        ),
        SettingDef(
            "vitals_bp_systolic_alert",
            "Raise a safety alert at systolic BP at or above",
            180,
            140,
            250,
            "mmHg",
            "Infusion stopped at 180/115 in Murrough 2013 [R2]",
        ),
        SettingDef(
            "vitals_bp_diastolic_flag",
            "Flag diastolic BP at or above",
            100,
            80,
            140,
            "mmHg",
            "Clinic policy; no consensus threshold [R6, R7, R8]",
        ),
        SettingDef(
            "vitals_bp_diastolic_alert",
            "Raise a safety alert at diastolic BP at or above",
            115,
            90,
            160,
            "mmHg",
            "Infusion stopped at 180/115 in Murrough 2013 [R2]",
        ),
        SettingDef(
            "vitals_hr_flag",
            "Flag heart rate at or above",
            110,
            80,
            180,
            "beats/min",
            "Clinic policy; ketamine raises heart rate [R10]",
        ),
        SettingDef(
            "vitals_hr_alert",
            "Raise a safety alert at heart rate at or above",
            130,
            90,
            200,
            "beats/min",
            "Clinic policy; ketamine raises heart rate [R10]",
        ),
        SettingDef(
            "vitals_spo2_flag",
            "Flag SpO₂ at or below",
            94,
            85,
            98,
            "%",
            "Monitor respiration and oximetry [R10, R16]",
        ),
        SettingDef(
            "vitals_spo2_alert",
            "Raise a safety alert at SpO₂ at or below",
            90,
            80,
            95,
            "%",
            "Respiratory depression risk [R10]",
        ),
        SettingDef(
            "vitals_rr_low_flag",
            "Flag respiratory rate at or below",
            10,
            6,
            14,
            "breaths/min",
            "Respiratory depression risk [R10]",
        ),
        SettingDef(
            "vitals_rr_low_alert",
            "Raise a safety alert at respiratory rate at or below",
            8,
            4,
            12,
            "breaths/min",
            "Respiratory depression risk [R10]",
        ),
        SettingDef(
            "ketamine_max_mg_per_kg",
            "IV ketamine dose limit",
            0.75,
            0.1,
            2.0,
            "mg/kg",
            "Top of the usually studied range 0.1–0.75 mg/kg [R1, R11]; clinic policy",
        ),
        SettingDef(
            "ketamine_max_mg",
            "IV ketamine absolute dose limit",
            100,
            10,
            300,
            "mg",
            "Clinic policy: no published maximum",
        ),
        SettingDef(
            "oral_ketamine_max_mg",
            "Oral or sublingual ketamine dose limit per session",
            300,
            25,
            500,
            "mg",
            "Top of the fixed doses used, 25–300 mg per session [R81]; clinic policy, no "
            "consensus dose ladder. A protocol's lower maximum applies first",
        ),
        # --- At-home oral and sublingual ketamine (trellis/treatments/prescribing.py;
        # docs/oral-ketamine.md).
        SettingDef(
            "oral_home_prescribing",
            "Prescribe oral or sublingual ketamine for use at home",
            0,
            0,
            1,
            "1 = yes, 0 = no",
            "Clinic policy (default off): compounded 503A products, not FDA-approved for "
            "depression [R85]; non-parenteral use reasonable only in select cases [R86]",
        ),
        SettingDef(
            "oral_home_max_days_supply",
            "At-home oral ketamine: most days' supply on one prescription",
            30,
            1,
            90,
            "days",
            "Clinic policy: no federal quantity cap for Schedule III [R88]",
        ),
        SettingDef(
            "oral_home_max_quantity",
            "At-home oral ketamine: most tablets or troches on one prescription",
            12,
            1,
            120,
            "tablets or troches",
            "Clinic policy: no federal quantity cap for Schedule III [R88]",
        ),
        SettingDef(
            "oral_home_pdmp_days",
            "At-home oral ketamine: the PDMP must have been checked within this many days "
            "before each prescription (0: the same day)",
            0,
            0,
            30,
            "days",
            "Pharmacy guidance: check the PDMP at every fill [R89]; the interval is clinic "
            "policy (default the same day)",
        ),
        SettingDef(
            "oral_home_uds_days",
            "At-home oral ketamine: a urine drug screen within this many days before each "
            "prescription (0: not required)",
            90,
            0,
            365,
            "days",
            "Manitoba regulator (2026) recommends comprehensive urine drug screening [R89]; "
            "the interval is clinic policy",
        ),
        SettingDef(
            "oral_home_early_refill_tolerance_days",
            "At-home oral ketamine: flag a refill or new prescription that comes more than this "
            "many days before the previous supply runs out",
            2,
            0,
            14,
            "days",
            "Clinic policy: watch for diversion [R87]",
        ),
        SettingDef(
            "bladder_symptom_interval_days",
            "Oral ketamine: ask about bladder and urinary symptoms at least this often",
            28,
            7,
            180,
            "days",
            "Ketamine cystitis with repeated use [R90, R10]; the interval is clinic policy",
        ),
        SettingDef(
            "escalation_consecutive_increases",
            "Flag a rising ketamine dose after this many increases in a row",
            3,
            2,
            10,
            "increases",
            "Clinic policy: no published threshold",
        ),
        SettingDef(
            "escalation_rise_pct",
            "Flag a ketamine dose more than this far above the patient's first",
            50,
            10,
            200,
            "%",
            "Clinic policy: no published threshold",
        ),
        SettingDef(
            "esketamine_predose_bp_systolic",
            "Esketamine: warn at pre-dose systolic above",
            140,
            120,
            180,
            "mmHg",
            "Spravato label general guide [R16]",
        ),
        SettingDef(
            "esketamine_predose_bp_diastolic",
            "Esketamine: warn at pre-dose diastolic above",
            90,
            70,
            120,
            "mmHg",
            "Spravato label general guide [R16]",
        ),
        # --- Stops before dosing: past these, IV ketamine and esketamine dosing is refused
        # unless a prescriber overrides with a reason (one definition for both, in
        # treatments/documentation.py ``predose_problems``).
        SettingDef(
            "predose_bp_systolic_hold",
            "Ketamine (IV, oral) and esketamine: do not start dosing at a pre-dose systolic BP at "
            "or above",
            160,
            140,
            200,
            "mmHg",
            "Clinic setting (default 160/100, clinic policy): the Spravato label's general "
            "guide is to weigh delaying above 140/90 [R16]; no published stop level for IV "
            "ketamine [R8]",
        ),
        SettingDef(
            "predose_bp_diastolic_hold",
            "Ketamine (IV, oral) and esketamine: do not start dosing at a pre-dose diastolic BP "
            "at or above",
            100,
            90,
            130,
            "mmHg",
            "Clinic setting (default 160/100, clinic policy): the Spravato label's general "
            "guide is to weigh delaying above 140/90 [R16]; no published stop level for IV "
            "ketamine [R8]",
        ),
        SettingDef(
            "predose_spo2_floor",
            "Ketamine (IV, oral) and esketamine: do not start dosing at a pre-dose SpO₂ below",
            94,
            85,
            98,
            "%",
            "Clinic setting (default 94 %, the flag level; conservative, no published floor): "
            "respiratory depression risk, monitor pulse oximetry [R10, R16]",
        ),
        SettingDef(
            "esketamine_monitoring_minutes",
            "Esketamine: minimum monitoring",
            120,
            120,
            240,
            "minutes",
            "REMS: at least 2 hours [R22, R28]",
        ),
        SettingDef(
            "tms_mt_remeasure_days",
            "TMS: warn when the motor threshold used is this old",
            7,
            1,
            30,
            "days",
            "Weekly re-measurement beats a single baseline [R40]",
        ),
        SettingDef(
            "tms_max_pct_mt",
            "TMS: refuse an intensity above",
            120,
            80,
            140,
            "% of motor threshold",
            "10 Hz and iTBS protocols treat at 120 % MT [R31, R35]",
        ),
        # --- Treatment courses.
        SettingDef(
            "authorization_warn_remaining",
            "Warn on a course when this many payer-authorised sessions or fewer remain",
            3,
            0,
            20,
            "sessions",
            "Clinic policy: time to ask the payer for more; payers cap TMS at 36 sessions [R38]",
        ),
        # --- The appointment book (trellis/scheduling): how long each kind of appointment
        # holds its chair, room or device unless the booking says otherwise.
        SettingDef(
            "appointment_minutes_iv_ketamine",
            "IV ketamine appointment (chair time)",
            90,
            40,
            360,
            "minutes",
            "40-minute infusion [R1, R11], then monitoring until full recovery; blood pressure "
            "back to baseline by about 1.5 h [R13]; discharge after full recovery [R10]",
        ),
        SettingDef(
            "appointment_minutes_esketamine",
            "Esketamine appointment",
            150,
            130,
            360,
            "minutes",
            "Devices 5 min apart, then at least 2 h of observation [R22, R28]",
        ),
        SettingDef(
            "appointment_minutes_oral_ketamine",
            "Oral ketamine appointment",
            120,
            30,
            360,
            "minutes",
            "Clinic policy; monitored until recovered, as for IV ketamine [R10]",
        ),
        SettingDef(
            "appointment_minutes_tms_10hz",
            "TMS appointment, 10 Hz protocol",
            40,
            10,
            120,
            "minutes",
            "3,000 pulses take about 37.5 min [R31, R32, R35]",
        ),
        SettingDef(
            "appointment_minutes_tms_itbs",
            "TMS appointment, iTBS and each session of accelerated iTBS",
            10,
            5,
            60,
            "minutes",
            "600 pulses take about 3 min [R35]; accelerated sessions of 1,800 pulses about "
            "10 min, 50-minute gaps between them [R33, R36]",
        ),
        SettingDef(
            "appointment_minutes_assessment",
            "Assessment appointment",
            60,
            15,
            240,
            "minutes",
            "Clinic policy",
        ),
        SettingDef(
            "appointment_minutes_therapy",
            "Therapy appointment",
            50,
            15,
            180,
            "minutes",
            "Clinic policy (a 50-minute therapy hour)",
        ),
        SettingDef(
            "appointment_minutes_group",
            "Group appointment",
            90,
            30,
            240,
            "minutes",
            "Clinic policy",
        ),
        SettingDef(
            "appointment_minutes_follow_up",
            "Follow-up appointment",
            30,
            10,
            120,
            "minutes",
            "Clinic policy",
        ),
        SettingDef(
            "appointment_minutes_coaching",
            "Health coaching appointment",
            30,
            10,
            120,
            "minutes",
            "Clinic policy",
        ),
        # --- Messages about appointments (trellis/scheduling/reminders.py; docs/messaging.md).
        SettingDef(
            "appointment_reminder_hour",
            "Send the day-before appointment reminder from this hour of the clinic's day",
            10,
            8,
            20,
            "o'clock, clinic time",
            "Clinic policy; within 8 am–9 pm local time, the hours 47 CFR 64.1200(c)(1) allows",
        ),
        SettingDef(
            "appointment_booking_message",
            "Tell the patient when an appointment is booked (1) or not (0); moves and "
            "cancellations are always told",
            1,
            0,
            1,
            "1 = yes, 0 = no",
            "Clinic policy",
        ),
        SettingDef(
            "appointment_message_channels",
            "Appointment messages by text, else e-mail (1), or by both text and e-mail (2)",
            1,
            1,
            2,
            "1 = text, else e-mail; 2 = both",
            "Clinic policy",
        ),
        SettingDef(
            "sms_consent_required",
            "Send automated text messages only to patients whose agreement to them is recorded "
            "(1), or to any patient who gave a phone number (0)",
            1,
            0,
            1,
            "1 = recorded agreement required, 0 = not",
            "TCPA: automated texts to a mobile number need the patient's prior express consent "
            "(47 CFR 64.1200(a)(1)); giving the number to a health care provider may count as "
            "consent for health care messages, but recording it is common practice",
        ),
        # --- Measurement and safety alerts (trellis/measures; docs/measures.md).
        SettingDef(
            "alert_escalation_minutes",
            "Escalate an unacknowledged safety alert to the prescribers and administrator after "
            "this long, and again each time this long passes",
            60,
            5,
            1440,
            "minutes",
            "Clinic policy (default 60 minutes); any PHQ-9 item 9 above 0 needs follow-up [R51]",
        ),
        SettingDef(
            "questionnaire_link_hours",
            "A questionnaire link sent to a patient works once, for this long",
            72,
            1,
            336,
            "hours",
            "Clinic policy",
        ),
        SettingDef(
            "measure_tms_interval_days",
            "During a TMS course, ask for a PHQ-9 this often",
            7,
            3,
            28,
            "days",
            "Clinic policy (weekly during TMS); measurement-based care",
        ),
        SettingDef(
            "measure_follow_up_1_months",
            "First follow-up questionnaires after a course (0: none)",
            1,
            0,
            24,
            "months after the last session",
            "Clinic policy (follow-ups at 1, 3 and 6 months); relapse watch [R58]",
        ),
        SettingDef(
            "measure_follow_up_2_months",
            "Second follow-up questionnaires after a course (0: none)",
            3,
            0,
            24,
            "months after the last session",
            "Clinic policy (follow-ups at 1, 3 and 6 months); relapse watch [R58]",
        ),
        SettingDef(
            "measure_follow_up_3_months",
            "Third follow-up questionnaires after a course (0: none)",
            6,
            0,
            24,
            "months after the last session",
            "Clinic policy (follow-ups at 1, 3 and 6 months); recovery is about 6 months in "
            "remission [R58]",
        ),
        # --- Combined and maintenance plans (trellis/plans; docs/plans.md; DOMAIN.md §10, §13).
        SettingDef(
            "plan_sequencing",
            "Combined TMS and ketamine or esketamine plans: when TMS may be given",
            1,
            1,
            2,
            "rule",
            "Clinic policy (default separate days): the order, gaps and same-day use of TMS with "
            "ketamine are practice, not evidence [R94]; esketamine needs at least 2 h of "
            "observation [R16, R22] and IV ketamine discharge after full recovery [R10]",
            choices=(
                (1, "On separate days"),
                (2, "Same day, after the ketamine or esketamine session's discharge"),
            ),
        ),
        SettingDef(
            "relapse_rule",
            "Relapse watch: the rule that flags a patient who responded",
            1,
            1,
            3,
            "rule",
            "No standard PHQ-9 relapse cut-off; the Trellis default is a convention: PHQ-9 10 or "
            "more after response [R51] or a 5-point rise (MCID) [R52]; SUSTAIN-1 and Janssen "
            "define relapse on the MADRS [R115]",
            # The same options as trellis.measures.relapse.SETTING_CHOICES (a test keeps them so).
            choices=(
                (
                    1,
                    "Loss of response: PHQ-9 10 or more after response, or a rise of 5 points or "
                    "more",
                ),
                (2, "PHQ-9 10 or more after response"),
                (3, "PHQ-9 rise of 5 points or more after response"),
            ),
        ),
        # --- Billing (trellis/billing/coding.py; docs/billing.md).
        SettingDef(
            "billing_default_payer",
            "Bill as this payer type unless told otherwise",
            2,
            1,
            3,
            "payer type",
            "Clinic policy (default commercial): Medicare is billed esketamine's G-codes, other "
            "payers J0013 and a visit [R71, R72]; IV ketamine is mostly self-pay [R73]",
            choices=((1, "Medicare"), (2, "Commercial insurance"), (3, "Self-pay")),
        ),
        SettingDef(
            "billing_visit_code",
            "Office visit billed with esketamine (non-Medicare) and with psychotherapy add-ons",
            99213,
            99211,
            99215,
            "CPT code",
            "Clinic setting (default 99213): no visit code is given for J0013 [R72]; the level "
            "follows the prescriber's decision making, not time [R102]",
            choices=tuple((code, f"{code}, level {code - 99210}") for code in range(99211, 99216)),
        ),
        # --- Controlled-substance ledger (trellis/controlled; DOMAIN.md §5, §15).
        SettingDef(
            "controlled_waste_witness_minutes",
            "Raise a safety alert when wasted ketamine or esketamine is not witnessed within",
            60,
            5,
            1440,
            "minutes",
            "Clinic or state policy: witnessing waste is an institutional or state rule, not a "
            "federal one [R69, R66]",
        ),
        SettingDef(
            "controlled_waste_witness_required",
            "Wasting ketamine or esketamine needs a witness",
            1,
            0,
            1,
            "rule",
            "Clinic or state policy (default: required). 21 CFR 1304.22(c) asks that waste be "
            "recorded, and DEA's letter on wastage names no witness [R66, R69]; witnessing is an "
            "institutional or state rule, and states differ. Switch it off only where the "
            "state and the clinic allow",
            choices=((1, "Required"), (0, "Not required (where the state allows)")),
        ),
        # --- The patient portal (trellis/portal; docs/portal.md).
        SettingDef(
            "portal_open_notes",
            "Show signed progress notes to patients in the portal (open notes)",
            0,
            0,
            1,
            "rule",
            "Clinic policy (default off): progress notes are among the clinical notes the Cures "
            "Act asks to release without delay; psychotherapy notes are excepted and never shown "
            "[R101, R100]",
            choices=((0, "Off"), (1, "On: signed progress notes in the portal")),
        ),
        # --- Aftercare (trellis/aftercare; docs/aftercare.md).
        SettingDef(
            "checkin_first_hours",
            "First check-in after a dosing session (0: none)",
            24,
            0,
            168,
            "hours after the session",
            "Integration within 24–72 hours of a dosing session [R110]",
        ),
        SettingDef(
            "checkin_second_hours",
            "Second check-in after a dosing session (0: none)",
            72,
            0,
            336,
            "hours after the session",
            "Integration within 24–72 hours of a dosing session [R110]",
        ),
        SettingDef(
            "checkin_link_hours",
            "A check-in link works once, for this long",
            48,
            4,
            168,
            "hours",
            "Clinic policy",
        ),
        SettingDef(
            "checkin_mood_floor",
            "Raise a safety alert when a check-in's mood (0 worst – 10 best) is at or below",
            2,
            0,
            9,
            "points of 10",
            "Clinic policy; no published cut-off for a single 0–10 mood rating",
        ),
        SettingDef(
            "checkin_mood_drop",
            "Raise a safety alert when mood falls this much or more since the last check-in",
            3,
            1,
            10,
            "points of 10",
            "Clinic policy; no published cut-off for a single 0–10 mood rating",
        ),
        SettingDef(
            "follow_up_escalation_days",
            "Raise a safety alert when follow-up questionnaires are still not returned this long "
            "after they were due",
            14,
            1,
            60,
            "days after the due date",
            "Clinic policy; follow-ups after a course watch for relapse [R58]",
        ),
        SettingDef(
            "controlled_exact_counts",
            "Count opened ketamine containers in an inventory",
            0,
            0,
            1,
            "rule",
            "Federal rule: an opened Schedule III container may be estimated [R67, R132]; some "
            "states want exact counts always (Iowa) [R63]",
            choices=((0, "Estimates allowed (federal)"), (1, "Exact counts always")),
        ),
        # --- Exports (trellis/fhir/bulk.py; docs/fhir.md).
        SettingDef(
            "bulk_export_hours",
            "Keep the files of a FHIR bulk export for",
            24,
            1,
            168,
            "hours",
            "Clinic policy: the Bulk Data IG leaves how long files stay to the server [R136]",
        ),
        SettingDef(
            "controlled_inventory_months",
            "Take a full inventory of controlled substances at least every",
            24,
            1,
            24,
            "months",
            "Federal rule: biennial, at most two years apart [R67]; Iowa: every year [R63]",
        ),
    )
}


def validate(overrides: dict) -> dict:
    """Checked copy of a clinic's overrides; raises InputError naming the setting."""
    if not isinstance(overrides, dict):
        raise InputError("settings", "must be an object of setting names and values")
    clean = {}
    for key, value in overrides.items():
        definition = DEFINITIONS.get(key)
        if definition is None:
            raise InputError(f"settings.{key}", "is not a known clinic setting")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"settings.{key}", f"must be a number of {definition.unit}")
        if isinstance(definition.default, int) and not float(value).is_integer():
            raise InputError(f"settings.{key}", f"must be a whole number of {definition.unit}")
        if definition.choices and value not in dict(definition.choices):
            raise InputError(
                f"settings.{key}",
                "must be one of "
                + ", ".join(f"{option} ({meaning})" for option, meaning in definition.choices),
            )
        if not definition.minimum <= value <= definition.maximum:
            raise InputError(
                f"settings.{key}",
                f"must be between {definition.minimum} and {definition.maximum} {definition.unit}",
            )
        clean[key] = type(definition.default)(value)
    return clean


def value(overrides: dict, key: str) -> int | float:
    return overrides.get(key, DEFINITIONS[key].default)
