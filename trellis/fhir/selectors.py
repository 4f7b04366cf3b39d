"""Reads behind the FHIR API: each one clinic-scoped, permission-checked and audited.

A read goes through ``patients.access.load`` (another clinic's row is 404, the role is checked,
the read is audited) and a search is audited as one query naming the type, its parameters and
how many resources matched. A search returns ``(total, resources)`` for one page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.fhir import resources, search
from trellis.measures.instruments import INSTRUMENTS
from trellis.measures.models import Measure
from trellis.patients import access
from trellis.patients.models import Patient
from trellis.safety.models import AlertStatus, SafetyAlert
from trellis.treatments.models import Session


class Params:
    """The query string: each parameter's values, and which of them a search used."""

    def __init__(self, query: dict[str, list[str]]):
        self.query = query
        self.used: set[str] = set()

    def all(self, name: str) -> list[str]:
        self.used.add(name)
        return [v for v in self.query.get(name, []) if v != ""]

    def one(self, name: str) -> str | None:
        values = self.all(name)
        if len(values) > 1:
            raise search.SearchError(name, "give it once")
        return values[0] if values else None


def _patient_filter(rows: QuerySet, params: Params, field: str = "patient_id") -> QuerySet:
    value = params.one("patient")
    if value is None:
        return rows
    pk = search.reference_id("patient", value)
    return rows.filter(**{field: pk}) if pk else rows.none()


def _dates(actor, rows: QuerySet, params: Params, name: str, field: str) -> QuerySet:
    values = params.all(name)
    if values:
        rows = rows.filter(search.date_filter(name, values, field, actor.clinic.tzinfo))
    return rows


def _audit(actor, kind: str, params: Params, total: int) -> None:
    record_for(
        actor,
        Action.QUERY,
        object_type=f"fhir.{kind.lower()}",
        detail={
            "fhir_search": {k: v[:5] for k, v in params.query.items() if k in params.used},
            "results": total,
        },
    )


def _page(rows: QuerySet, start: int, count: int) -> list:
    return list(rows[start : start + count])


# Patient ------------------------------------------------------------------------------------


def read_patient(actor, pk) -> dict:
    return resources.patient(access.patient(actor, pk))


def search_patients(actor, params: Params, start: int, count: int):
    access.require(actor, Perm.PATIENT_READ)
    rows = Patient.objects.filter(clinic=actor.clinic)
    for value in params.all("_id"):
        pk = search.reference_id("_id", value)
        rows = rows.filter(pk=pk) if pk else rows.none()
    for value in params.all("identifier"):
        token = search.tokens("identifier", value)
        rows = rows.filter(mrn__in=[t.code for t in token])
    for value in params.all("name"):
        for word in value.replace(",", " ").split():
            rows = rows.filter(Q(family_name__istartswith=word) | Q(given_name__istartswith=word))
    values = params.all("birthdate")
    if values:
        rows = rows.filter(
            search.day_filter("birthdate", values, "birth_date", actor.clinic.tzinfo)
        )
    for value in params.all("gender"):
        rows = rows.filter(sex__in=[t.code for t in search.tokens("gender", value)])
    rows = _dates(actor, rows, params, "_lastUpdated", "updated_at")
    rows = rows.order_by("family_name", "given_name", "pk")
    total = rows.count()
    found = [resources.patient(p) for p in _page(rows, start, count)]
    _audit(actor, "Patient", params, total)
    return total, found


# Observation and QuestionnaireResponse (one Measure each) -------------------------------------


def _split_observation_id(pk: str) -> tuple[str, str]:
    measure_id, dash, suffix = str(pk)[:36], str(pk)[36:37], str(pk)[37:]
    if dash != "-" or not suffix:
        raise Http404("No such Observation.")
    return measure_id, suffix


def read_observation(actor, pk) -> dict:
    measure_id, suffix = _split_observation_id(pk)
    measure = access.load(actor, Measure.objects.all(), measure_id, Perm.MEASURE_READ)
    try:
        return resources.observation(measure, suffix)
    except KeyError:
        raise Http404("No such Observation.") from None


def read_questionnaire_response(actor, pk) -> dict:
    measure = access.load(actor, Measure.objects.all(), pk, Perm.MEASURE_READ)
    return resources.questionnaire_response(measure)


def _measures(actor, params: Params) -> QuerySet:
    access.require(actor, Perm.MEASURE_READ)
    rows = Measure.objects.filter(clinic=actor.clinic)
    rows = _patient_filter(rows, params)
    rows = _dates(actor, rows, params, "_lastUpdated", "created_at")
    return rows


def _suffixes(instrument, codes: list[search.Token] | None) -> list[str]:
    """The Observation suffixes of one instrument's measures that the ``code`` values match."""
    every = ["panel", "total"] + [f"item{item.number}" for item in instrument.items]
    if codes is None:
        return every
    loinc = resources.observation_codes(instrument)
    matched = []
    for suffix in every:
        item_code = f"{instrument.code}-{suffix[4:]}" if suffix.startswith("item") else None
        for token in codes:
            if (token.system in (None, resources.LOINC) and loinc.get(suffix) == token.code) or (
                token.system in (None, resources.ITEM_SYSTEM) and item_code == token.code
            ):
                matched.append(suffix)
                break
    return matched


def _category_matches(params: Params) -> bool:
    for value in params.all("category"):
        if not any(
            t.code == "survey" and t.system in (None, resources.OBSERVATION_CATEGORY)
            for t in search.tokens("category", value)
        ):
            return False
    return True


def search_observations(actor, params: Params, start: int, count: int):
    rows = _measures(actor, params)
    rows = _dates(actor, rows, params, "date", "observed_at")
    codes = None
    for value in params.all("code"):
        codes = search.tokens("code", value)  # repeated code: the last one (rarely given)
    wanted = {code: _suffixes(instrument, codes) for code, instrument in INSTRUMENTS.items()}
    if not _category_matches(params):
        wanted = {}
    wanted = {code: suffixes for code, suffixes in wanted.items() if suffixes}
    rows = rows.filter(instrument__in=list(wanted)).order_by("observed_at", "created_at", "pk")
    per_instrument = {
        row["instrument"]: row["n"]
        for row in rows.order_by().values("instrument").annotate(n=Count("pk"))
    }
    total = sum(n * len(wanted[code]) for code, n in per_instrument.items())
    found, position = [], 0
    for measure in rows.iterator(chunk_size=200):
        suffixes = wanted[measure.instrument]
        if position + len(suffixes) <= start:
            position += len(suffixes)
            continue
        for suffix in suffixes:
            if position >= start and len(found) < count:
                found.append(resources.observation(measure, suffix))
            position += 1
        if len(found) >= count:
            break
    _audit(actor, "Observation", params, total)
    return total, found


def search_questionnaire_responses(actor, params: Params, start: int, count: int):
    rows = _measures(actor, params)
    rows = _dates(actor, rows, params, "authored", "observed_at")
    rows = rows.order_by("observed_at", "created_at", "pk")
    total = rows.count()
    found = [resources.questionnaire_response(m) for m in _page(rows, start, count)]
    _audit(actor, "QuestionnaireResponse", params, total)
    return total, found


# Questionnaire (the forms themselves: no patient data) ----------------------------------------


def read_questionnaire(actor, pk) -> dict:
    if pk not in INSTRUMENTS:
        raise Http404("No such Questionnaire.")
    return resources.questionnaire(INSTRUMENTS[pk])


def search_questionnaires(actor, params: Params, start: int, count: int):
    wanted = list(INSTRUMENTS.values())
    for value in params.all("url"):
        wanted = [i for i in wanted if resources.QUESTIONNAIRE_URL.format(code=i.code) == value]
    found = [resources.questionnaire(i) for i in wanted]
    return len(found), found[start : start + count]


# Encounter (treatment sessions) ------------------------------------------------------------------


def _sessions() -> QuerySet:
    return Session.objects.select_related("course__protocol")


def read_encounter(actor, pk) -> dict:
    return resources.encounter(access.load(actor, _sessions(), pk, Perm.SESSION_READ))


def search_encounters(actor, params: Params, start: int, count: int):
    access.require(actor, Perm.SESSION_READ)
    rows = _patient_filter(_sessions().filter(clinic=actor.clinic), params)
    values = params.all("date")
    if values:
        # The session's day (planned, and the day it ran: sessions run on their planned day).
        rows = rows.filter(search.day_filter("date", values, "planned_date", actor.clinic.tzinfo))
    rows = rows.order_by("planned_date", "number", "pk")
    total = rows.count()
    found = [resources.encounter(s) for s in _page(rows, start, count)]
    _audit(actor, "Encounter", params, total)
    return total, found


# Flag (open safety alerts about a patient) ------------------------------------------------------


def _alerts() -> QuerySet:
    return SafetyAlert.objects.filter(patient__isnull=False)


def read_flag(actor, pk) -> dict:
    return resources.flag(access.load(actor, _alerts(), pk, Perm.ALERT_READ))


def search_flags(actor, params: Params, start: int, count: int):
    access.require(actor, Perm.ALERT_READ)
    rows = _alerts().filter(clinic=actor.clinic, status=AlertStatus.OPEN)
    rows = _patient_filter(rows, params)
    rows = _dates(actor, rows, params, "date", "created_at")
    rows = _dates(actor, rows, params, "_lastUpdated", "created_at")
    rows = rows.order_by("created_at", "pk")
    total = rows.count()
    found = [resources.flag(a) for a in _page(rows, start, count)]
    _audit(actor, "Flag", params, total)
    return total, found


@dataclass(frozen=True)
class Served:
    read: Callable
    search: Callable
    params: tuple[str, ...]  # search parameters besides _count


SERVED: dict[str, Served] = {
    "Patient": Served(
        read_patient,
        search_patients,
        ("_id", "identifier", "name", "birthdate", "gender", "_lastUpdated"),
    ),
    "Observation": Served(
        read_observation,
        search_observations,
        ("patient", "code", "category", "date", "_lastUpdated"),
    ),
    "QuestionnaireResponse": Served(
        read_questionnaire_response,
        search_questionnaire_responses,
        ("patient", "authored", "_lastUpdated"),
    ),
    "Questionnaire": Served(read_questionnaire, search_questionnaires, ("url",)),
    "Encounter": Served(read_encounter, search_encounters, ("patient", "date")),
    "Flag": Served(read_flag, search_flags, ("patient", "date", "_lastUpdated")),
}
