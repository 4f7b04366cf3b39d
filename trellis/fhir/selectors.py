"""Reads behind the FHIR API: each one clinic-scoped, permission-checked and audited.

A read goes through ``patients.access.load`` (another clinic's row is 404, the role is checked,
the read is audited) and a search is audited as one query naming the type, its parameters and
how many resources matched. A search returns ``(total, resources)`` for one page.
"""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from trellis.accounts.permissions import Perm
from trellis.fhir import resources, search, selectors_clinical
from trellis.fhir.reading import Params, Served
from trellis.fhir.reading import audit_search as _audit
from trellis.fhir.reading import dates as _dates
from trellis.fhir.reading import page as _page
from trellis.fhir.reading import patient_filter as _patient_filter
from trellis.measures.instruments import INSTRUMENTS
from trellis.measures.models import Measure
from trellis.patients import access
from trellis.patients.models import Patient
from trellis.safety.models import AlertStatus, SafetyAlert

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
    if suffix in selectors_clinical.clinical.VITAL_KINDS:
        return selectors_clinical.read_vital_observation(actor, measure_id, suffix)
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
    """Questionnaire Observations (in the order answered), then vital signs (in the order
    taken), paged as one list."""
    total, found = _screening_observations(actor, params, start, count)
    more, vitals = selectors_clinical.vital_observations(
        actor, params, max(0, start - total), count - len(found)
    )
    _audit(actor, "Observation", params, total + more)
    return total + more, found + vitals


def _screening_observations(actor, params: Params, start: int, count: int):
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
    "Encounter": Served(
        selectors_clinical.read_encounter, selectors_clinical.search_encounters, ("patient", "date")
    ),
    "Flag": Served(read_flag, search_flags, ("patient", "date", "_lastUpdated")),
}
# Procedure, MedicationAdministration, CarePlan, Coverage and AuditEvent (selectors_clinical).
SERVED.update(
    {
        "Procedure": Served(
            selectors_clinical.read_procedure,
            selectors_clinical.search_procedures,
            ("patient", "date", "_lastUpdated"),
        ),
        "MedicationAdministration": Served(
            selectors_clinical.read_medication_administration,
            selectors_clinical.search_medication_administrations,
            ("patient", "effective-time", "_lastUpdated"),
        ),
        "CarePlan": Served(
            selectors_clinical.read_care_plan,
            selectors_clinical.search_care_plans,
            ("patient", "category", "date", "_lastUpdated"),
        ),
        "Coverage": Served(
            selectors_clinical.read_coverage,
            selectors_clinical.search_coverages,
            ("patient", "_lastUpdated"),
        ),
        "AuditEvent": Served(
            selectors_clinical.read_audit_event,
            selectors_clinical.search_audit_events,
            ("patient", "date", "_lastUpdated"),
        ),
    }
)
