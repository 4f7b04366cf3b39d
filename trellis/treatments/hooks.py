"""What other apps do when a course's plan changes, in the transaction that changed it.

Measures plans a course's questionnaires from its dates and sessions; it registers that here
(``on_course_planned`` in its AppConfig.ready), so that treatments imports no app above it.
"""

from __future__ import annotations

from collections.abc import Callable

_COURSE_PLANNED: list[Callable] = []


def on_course_planned(receiver: Callable) -> None:
    """Call ``receiver(course)`` whenever a course starts or its plan or sessions change."""
    if receiver not in _COURSE_PLANNED:
        _COURSE_PLANNED.append(receiver)


def course_planned(course) -> None:
    """Tell every receiver, in the caller's transaction: a receiver's error rolls it back."""
    for receiver in _COURSE_PLANNED:
        receiver(course)


_SESSION_BOOKINGS: list[Callable] = []


def on_session_bookings(provider: Callable) -> None:
    """``provider(sessions)`` answers, by session id, when and where each session is booked
    (a dict with ``start``, ``resource``, ``status``); the appointment book registers it."""
    if provider not in _SESSION_BOOKINGS:
        _SESSION_BOOKINGS.append(provider)


def session_bookings(sessions) -> dict:
    """The bookings of ``sessions`` by session id, from every provider (none: an empty dict)."""
    found: dict = {}
    for provider in _SESSION_BOOKINGS:
        found.update(provider(sessions))
    return found


_SESSION_PARTS: list[Callable] = []


def on_session_page(provider: Callable) -> None:
    """``provider(actor, session)`` answers a part of the session's page that another app
    shows beside the treatment's documentation (a dict naming its ``template`` and what that
    template reads), or None to show nothing; the therapist's progress notes register here."""
    if provider not in _SESSION_PARTS:
        _SESSION_PARTS.append(provider)


def session_page_parts(actor, session) -> list[dict]:
    return [part for provider in _SESSION_PARTS if (part := provider(actor, session)) is not None]


_SESSION_SIGNED: list[Callable] = []


def on_session_signed(receiver: Callable) -> None:
    """Call ``receiver(actor, session)`` when a session is signed, in the signing transaction:
    the charges it earns and the stock it drew are written with it, or not at all."""
    if receiver not in _SESSION_SIGNED:
        _SESSION_SIGNED.append(receiver)


def session_signed(actor, session) -> None:
    """Tell every receiver, in the caller's transaction: a receiver's error rolls it back."""
    for receiver in _SESSION_SIGNED:
        receiver(actor, session)


_SIGNING_MISSING: list[Callable] = []


def on_signing_missing(provider: Callable) -> None:
    """``provider(session)`` answers what another app still needs before the session may be
    signed (a list of phrases, empty when nothing): the controlled-substance ledger asks for
    the containers the dose was drawn from."""
    if provider not in _SIGNING_MISSING:
        _SIGNING_MISSING.append(provider)


def signing_missing(session) -> list[str]:
    return [phrase for provider in _SIGNING_MISSING for phrase in provider(session)]


_SESSION_LOTS: list[Callable] = []


def on_session_lots(provider: Callable) -> None:
    """``provider(session)`` answers the lot numbers the session's dose came from (a list of
    text); the REMS form shows them."""
    if provider not in _SESSION_LOTS:
        _SESSION_LOTS.append(provider)


def session_lots(session) -> list[str]:
    return [lot for provider in _SESSION_LOTS for lot in provider(session)]


_AUTHORISED_UNITS: list[Callable] = []


def on_authorised_units(provider: Callable) -> None:
    """``provider(courses)`` answers, by course id, the sessions a payer has authorised for each
    course (None: nothing authorised to track); billing's prior authorisations register here.
    Without a provider the course's own ``authorized_units`` are used."""
    if provider not in _AUTHORISED_UNITS:
        _AUTHORISED_UNITS.append(provider)


def authorised_units(courses) -> dict | None:
    """The authorised sessions of ``courses`` by course id, or None when no provider answers."""
    if not _AUTHORISED_UNITS:
        return None
    found: dict = {}
    for provider in _AUTHORISED_UNITS:
        found.update(provider(courses))
    return found


_COURSE_PARTS: list[Callable] = []


def on_course_page(provider: Callable) -> None:
    """``provider(actor, course, today)`` answers a part of the course's page another app shows
    (a dict naming its ``template`` and what it reads), or None; billing's prior authorisation
    card registers here."""
    if provider not in _COURSE_PARTS:
        _COURSE_PARTS.append(provider)


def course_page_parts(actor, course, today) -> list[dict]:
    return [
        part for provider in _COURSE_PARTS if (part := provider(actor, course, today)) is not None
    ]


_SUPPLY_STARTED: list[Callable] = []
_PRESCRIPTION_CANCELLED: list[Callable] = []


def on_home_supply(started: Callable, cancelled: Callable) -> None:
    """An at-home oral ketamine supply begins or ends. ``started(actor, prescription,
    started_on)`` is called when a prescription is issued (its first supply, from the issue
    day) and when a refill is recorded (from the fill's day); ``cancelled(actor,
    prescription)`` when the prescriber cancels it. Aftercare plans and stops the check-ins of
    a course at home here, in the caller's transaction."""
    if started not in _SUPPLY_STARTED:
        _SUPPLY_STARTED.append(started)
    if cancelled not in _PRESCRIPTION_CANCELLED:
        _PRESCRIPTION_CANCELLED.append(cancelled)


def home_supply_started(actor, prescription, started_on) -> None:
    """Tell every receiver, in the caller's transaction: a receiver's error rolls it back."""
    for receiver in _SUPPLY_STARTED:
        receiver(actor, prescription, started_on)


def prescription_cancelled(actor, prescription) -> None:
    for receiver in _PRESCRIPTION_CANCELLED:
        receiver(actor, prescription)
