"""The pure rules of the appointment book: kinds, resources, lengths and status changes."""

from datetime import date, timedelta

import pytest

from trellis.accounts import clinic_settings
from trellis.lib.errors import Conflict, InputError
from trellis.patients.modality import KETAMINE_FAMILY as KETAMINE_MODALITIES
from trellis.scheduling import kinds
from trellis.scheduling.kinds import AppointmentKind, AppointmentStatus


def defaults(key: str):
    return clinic_settings.DEFINITIONS[key].default


def test_the_ketamine_family_is_the_documented_modalities_and_oral_ketamine():
    assert {"iv_ketamine", "esketamine", "oral_ketamine"} == kinds.KETAMINE_FAMILY
    assert {kinds.MODALITY[k] for k in kinds.KETAMINE_FAMILY if k in kinds.MODALITY} == set(
        KETAMINE_MODALITIES
    )


def test_every_kind_has_a_length_and_resources():
    assert set(kinds.DURATION_SETTING) == set(AppointmentKind.values)
    assert set(kinds.SUITABLE_RESOURCES) == set(AppointmentKind.values)
    for key in [
        *kinds.DURATION_SETTING.values(),
        *kinds.DURATION_SETTING_FOR_TMS_PROTOCOL.values(),
    ]:
        assert key in clinic_settings.DEFINITIONS


@pytest.mark.parametrize(
    ("kind", "protocol", "minutes"),
    [
        ("iv_ketamine", "", 90),  # chair time [R1, R11, R13]
        ("esketamine", "", 150),  # ≥ 2 h observation [R22, R28]
        ("oral_ketamine", "", 120),
        ("tms", "", 40),  # 10 Hz ≈ 37.5 min [R31, R35]
        ("tms", "tms-10hz", 40),
        ("tms", "tms-itbs", 10),  # 600 pulses ≈ 3 min [R35]
        ("tms", "tms-accelerated-itbs", 10),  # 1,800 pulses ≈ 10 min, 50-min gaps [R33, R36]
        ("assessment", "", 60),
        ("therapy", "", 50),
        ("group", "", 90),
        ("follow_up", "", 30),
        ("coaching", "", 30),
        ("iv_ketamine", "tms-itbs", 90),  # the protocol only changes TMS
    ],
)
def test_default_lengths_come_from_the_clinic_settings(kind, protocol, minutes):
    assert kinds.default_minutes(kind, defaults, protocol_schedule=protocol) == minutes


def test_a_clinics_own_length_wins():
    own = {"appointment_minutes_iv_ketamine": 120}
    assert kinds.default_minutes("iv_ketamine", lambda k: own.get(k, defaults(k))) == 120


def test_esketamine_cannot_be_set_below_the_two_hour_observation():
    assert clinic_settings.DEFINITIONS["appointment_minutes_esketamine"].minimum >= 120


@pytest.mark.parametrize(
    ("kind", "resource", "fits"),
    [
        ("tms", "tms_device", True),
        ("tms", "chair", False),
        ("tms", "room", False),
        ("iv_ketamine", "chair", True),
        ("iv_ketamine", "room", True),
        ("iv_ketamine", "tms_device", False),
        ("esketamine", "chair", True),
        ("esketamine", "tms_device", False),
        ("therapy", "room", True),
        ("therapy", "chair", False),
        ("assessment", "tms_device", False),
    ],
)
def test_which_resource_suits_which_kind(kind, resource, fits):
    if fits:
        kinds.check_resource_kind(kind, resource)
    else:
        with pytest.raises(InputError) as caught:
            kinds.check_resource_kind(kind, resource)
        assert caught.value.field == "resource"


@pytest.mark.parametrize(
    ("kind", "resource", "message"),
    [
        (
            "follow_up",
            "chair",
            "an infusion chair cannot take Follow-up appointments; choose a room",
        ),
        ("tms", "room", "a room cannot take TMS appointments; choose a TMS device"),
        (
            "iv_ketamine",
            "tms_device",
            "a TMS device cannot take IV ketamine appointments; choose an infusion chair or room",
        ),
    ],
)
def test_an_unsuitable_resource_is_named_in_plain_words(kind, resource, message):
    with pytest.raises(InputError) as caught:
        kinds.check_resource_kind(kind, resource)
    assert caught.value.message == message


S = AppointmentStatus


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        (S.BOOKED, S.CONFIRMED, True),
        (S.CONFIRMED, S.CHECKED_IN, True),
        (S.CHECKED_IN, S.COMPLETED, True),
        (S.BOOKED, S.CHECKED_IN, True),
        (S.BOOKED, S.COMPLETED, False),
        (S.CONFIRMED, S.COMPLETED, False),
        (S.BOOKED, S.CANCELLED, True),
        (S.CONFIRMED, S.NO_SHOW, True),
        (S.CHECKED_IN, S.NO_SHOW, True),
        (S.COMPLETED, S.CANCELLED, False),
        (S.CANCELLED, S.BOOKED, False),
        (S.NO_SHOW, S.CHECKED_IN, False),
        (S.CONFIRMED, S.CONFIRMED, False),
    ],
)
def test_status_transitions(current, new, allowed):
    if allowed:
        kinds.check_transition(current, new)
    else:
        with pytest.raises(Conflict):
            kinds.check_transition(current, new)


def test_an_unknown_status_or_kind_names_the_field():
    with pytest.raises(InputError) as caught:
        kinds.check_transition(S.BOOKED, "arrived")
    assert caught.value.field == "status"
    with pytest.raises(InputError) as caught:
        kinds.check_kind("massage")
    assert caught.value.field == "kind"


@pytest.mark.parametrize(("minutes", "ok"), [(5, True), (720, True), (4, False), (721, False),
                                             (True, False), (30.0, False)])  # fmt: skip
def test_minutes_are_bounded_whole_numbers(minutes, ok):
    if ok:
        assert kinds.check_minutes(minutes) == minutes
    else:
        with pytest.raises(InputError):
            kinds.check_minutes(minutes)


def test_cancelled_and_no_show_hold_no_time():
    assert set(kinds.ACTIVE_STATUSES) == set(S.values) - {S.CANCELLED, S.NO_SHOW}


TODAY = date(2026, 12, 7)
BEFORE, AFTER = TODAY + timedelta(days=1), TODAY - timedelta(days=1)


@pytest.mark.parametrize(
    ("status", "day", "expected"),
    [
        # Before the day: confirm, move or cancel; nothing that waits for the day.
        (S.BOOKED, BEFORE, (S.CONFIRMED, kinds.MOVE, S.CANCELLED)),
        (S.CONFIRMED, BEFORE, (kinds.MOVE, S.CANCELLED)),
        (S.CHECKED_IN, BEFORE, (S.CANCELLED,)),
        # On the day: check in first; confirming is past its use.
        (S.BOOKED, TODAY, (S.CHECKED_IN, kinds.MOVE, S.NO_SHOW, S.CANCELLED)),
        (S.CONFIRMED, TODAY, (S.CHECKED_IN, kinds.MOVE, S.NO_SHOW, S.CANCELLED)),
        (S.CHECKED_IN, TODAY, (S.COMPLETED, S.NO_SHOW, S.CANCELLED)),
        # After the day: only closing what was left open.
        (S.BOOKED, AFTER, (S.NO_SHOW,)),
        (S.CONFIRMED, AFTER, (S.NO_SHOW,)),
        (S.CHECKED_IN, AFTER, (S.COMPLETED, S.NO_SHOW)),
        # Over: nothing, on any day.
        *(
            (s, d, ())
            for s in (S.COMPLETED, S.CANCELLED, S.NO_SHOW)
            for d in (BEFORE, TODAY, AFTER)
        ),
    ],
)
def test_allowed_actions(status, day, expected):
    assert kinds.allowed_actions(status, day, TODAY) == expected


@pytest.mark.parametrize("status", AppointmentStatus.values)
@pytest.mark.parametrize("day", [BEFORE, TODAY, AFTER])
def test_allowed_actions_are_transitions_the_service_accepts(status, day):
    for action in kinds.allowed_actions(status, day, TODAY):
        if action == kinds.MOVE:
            continue
        kinds.check_transition(status, action)  # raises when the service would refuse
        assert not (action in kinds.NOT_BEFORE_THE_DAY and day > TODAY)
