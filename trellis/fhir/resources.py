"""Trellis records as FHIR R4 resources (US Core where a profile exists) [R133, R134, R135].

Pure: each function takes a stored row and returns the resource as JSON-ready ``dict``, built
and checked by the ``fhir.resources`` R4B models (R4B changed none of these five resources from
R4, so their JSON is R4 JSON; docs/fhir.md). Nothing here reads the database beyond the row's
own fields, or writes an audit event: the selectors do that.

One questionnaire answered (a ``Measure``) is, in FHIR, one QuestionnaireResponse and a group of
Observations derived from it: the panel (``hasMember`` the total and each item), the total and
one per item, all on the US Core Observation Screening Assessment profile, category ``survey``
[R134]. Their ids are the measure's id and a suffix (``<id>-panel``, ``-total``, ``-item9``).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, time

from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from trellis.measures.instruments import Instrument

LOINC = "http://loinc.org"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
PROFILES = {
    "Patient": US_CORE + "us-core-patient",
    "Observation": US_CORE + "us-core-observation-screening-assessment",
    "QuestionnaireResponse": US_CORE + "us-core-questionnaireresponse",
    "Encounter": US_CORE + "us-core-encounter",
}
# Identifier and code systems of this product (URNs: they name, they do not resolve).
MRN_SYSTEM = "urn:trellis:clinic:{clinic}:mrn"
ITEM_SYSTEM = "urn:trellis:questionnaire-item"
QUESTIONNAIRE_URL = "urn:trellis:questionnaire:{code}"
ALERT_KIND_SYSTEM = "urn:trellis:safety-alert-kind"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

GENDER = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}

# Session status → Encounter.status (R4 has no no-show: a patient who did not come had a
# cancelled encounter; one who came but was not treated had a finished one).
ENCOUNTER_STATUS = {
    "planned": "planned",
    "booked": "planned",
    "in_progress": "in-progress",
    "signed": "finished",
    "cancelled": "cancelled",
    "no_show": "cancelled",
    "not_given": "finished",
}


def instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _meta(kind: str, updated: datetime) -> dict:
    meta = {"lastUpdated": instant(updated)}
    if kind in PROFILES:
        meta["profile"] = [PROFILES[kind]]
    return meta


def _dump(model) -> dict:
    return model.model_dump(mode="json", exclude_none=True)


# Whether each resource built is checked by its fhir.resources model (the default). A bulk export
# checks the first resource of every chunk and builds the rest ``unchecked()``: the same dict,
# without the model's cost (about 10 ms a resource); a test holds the two equal for every type.
_CHECKED: ContextVar[bool] = ContextVar("fhir_checked", default=True)


@contextmanager
def unchecked():
    token = _CHECKED.set(False)
    try:
        yield
    finally:
        _CHECKED.reset(token)


def _checked(model, data: dict) -> dict:
    return _dump(model.model_validate(data)) if _CHECKED.get() else data


def patient(row) -> dict:
    """US Core Patient: MRN, name, sex, birth date and contact [R133]."""
    telecom = []
    if row.phone:
        telecom.append({"system": "phone", "value": row.phone, "use": "home"})
    if row.email:
        telecom.append({"system": "email", "value": row.email})
    data = {
        "resourceType": "Patient",
        "id": str(row.pk),
        "meta": _meta("Patient", row.updated_at),
        "identifier": [
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                            "code": "MR",
                            "display": "Medical record number",
                        }
                    ]
                },
                "system": MRN_SYSTEM.format(clinic=row.clinic_id),
                "value": row.mrn,
            }
        ],
        "active": True,
        "name": [{"use": "official", "family": row.family_name, "given": [row.given_name]}],
        "gender": GENDER.get(row.sex, "unknown"),
        "birthDate": row.birth_date.isoformat(),
    }
    if telecom:
        data["telecom"] = telecom
    if row.address.strip():
        data["address"] = [{"text": row.address.strip()}]
    return _checked(Patient, data)


def _reference(kind: str, pk) -> dict:
    return {"reference": f"{kind}/{pk}"}


def _item_code(instrument: Instrument, item) -> dict:
    """LOINC where DOMAIN.md gives the item's code (PHQ-9 item 9, 44260-8 [R53]); else the
    product's own code for the item, with its words. Built once per item."""
    key = (instrument.code, item.number)
    code = _ITEM_CODES.get(key)
    if code is None:
        coding = {"system": ITEM_SYSTEM, "code": f"{instrument.code}-{item.number}"}
        if item.loinc:
            coding = {"system": LOINC, "code": item.loinc}
        code = _ITEM_CODES[key] = {"coding": [{**coding, "display": item.text}], "text": item.text}
    return code


_ITEM_CODES: dict[tuple[str, int], dict] = {}


def questionnaire(instrument: Instrument) -> dict:
    """The form as printed: each scored item answered 0-3, and PHQ-9's difficulty question
    (recorded, not scored) [R51, R54]. Coded with the form's LOINC panel code [R53]."""
    scale = "; ".join(f"{o.value} = {o.text}" for o in instrument.options)
    items = [
        {
            "linkId": f"item{item.number}",
            "text": item.text,
            "type": "integer",
            "required": True,
            **({"code": [{"system": LOINC, "code": item.loinc}]} if item.loinc else {}),
        }
        for item in instrument.items
    ]
    if instrument.difficulty is not None:
        items.append(
            {"linkId": "difficulty", "text": instrument.difficulty.text, "type": "integer"}
        )
    data = {
        "resourceType": "Questionnaire",
        "id": instrument.code,
        "url": QUESTIONNAIRE_URL.format(code=instrument.code),
        "name": instrument.abbreviation.replace("-", ""),
        "title": instrument.name,
        "status": "active",
        "subjectType": ["Patient"],
        "description": f"{instrument.stem} Each item is answered {scale}. {instrument.source}",
        "code": [{"system": LOINC, "code": instrument.loinc_panel, "display": instrument.name}],
        "item": items,
    }
    return _checked(Questionnaire, data)


def questionnaire_response(measure) -> dict:
    """US Core QuestionnaireResponse: each answer as given, 0-3 [R134]."""
    instrument = measure.definition
    items = [
        {
            "linkId": f"item{item.number}",
            "text": item.text,
            "answer": [{"valueInteger": value}],
        }
        for item, value in zip(instrument.items, measure.answers, strict=False)
    ]
    if instrument.difficulty is not None and measure.difficulty is not None:
        items.append(
            {
                "linkId": "difficulty",
                "text": instrument.difficulty.text,
                "answer": [{"valueInteger": measure.difficulty}],
            }
        )
    data = {
        "resourceType": "QuestionnaireResponse",
        "id": str(measure.pk),
        "meta": _meta("QuestionnaireResponse", measure.created_at),
        "questionnaire": QUESTIONNAIRE_URL.format(code=instrument.code),
        "status": "completed",
        "subject": _reference("Patient", measure.patient_id),
        "authored": instant(measure.observed_at),
        "item": items,
    }
    return _checked(QuestionnaireResponse, data)


def observation_ids(measure) -> list[str]:
    """Every Observation id one measure yields, panel first, then total, then the items."""
    count = len(measure.definition.items)
    return [f"{measure.pk}-panel", f"{measure.pk}-total"] + [
        f"{measure.pk}-item{n}" for n in range(1, count + 1)
    ]


def observation_codes(instrument: Instrument) -> dict[str, str]:
    """Observation suffix → its LOINC code, for the codes LOINC gives [R53]."""
    codes = {"panel": instrument.loinc_panel, "total": instrument.loinc_total}
    for item in instrument.items:
        if item.loinc:
            codes[f"item{item.number}"] = item.loinc
    return codes


def observation(measure, suffix: str) -> dict:
    """One Observation of a measure: ``panel``, ``total`` or ``item<n>`` (US Core Observation
    Screening Assessment, category survey, derived from the QuestionnaireResponse) [R134]."""
    return _observation(measure, suffix, _observation_common(measure))


def observations(measure) -> list[dict]:
    """Every Observation of a measure, in ``observation_ids`` order (a bulk export's rows): the
    parts they share are built once."""
    common = _observation_common(measure)
    items = range(1, len(measure.definition.items) + 1)
    suffixes = ["panel", "total", *(f"item{n}" for n in items)]
    return [_observation(measure, suffix, common) for suffix in suffixes]


_SURVEY = [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}]


def _observation_common(measure) -> dict:
    pk = str(measure.pk)
    return {
        "pk": pk,
        "meta": _meta("Observation", measure.created_at),
        "subject": _reference("Patient", measure.patient_id),
        "effectiveDateTime": instant(measure.observed_at),
        "derivedFrom": [_reference("QuestionnaireResponse", pk)],
    }


def _observation(measure, suffix: str, common: dict) -> dict:
    instrument = measure.definition
    pk = common["pk"]
    data = {
        "resourceType": "Observation",
        "id": f"{pk}-{suffix}",
        "meta": common["meta"],
        "status": "final",
        "category": _SURVEY,
        "subject": common["subject"],
        "effectiveDateTime": common["effectiveDateTime"],
        "derivedFrom": common["derivedFrom"],
    }
    if suffix == "panel":
        data["code"] = {
            "coding": [
                {"system": LOINC, "code": instrument.loinc_panel, "display": instrument.name}
            ],
            "text": instrument.abbreviation,
        }
        data["hasMember"] = [_reference("Observation", pk) for pk in observation_ids(measure)[1:]]
    elif suffix == "total":
        data["code"] = {
            "coding": [
                {
                    "system": LOINC,
                    "code": instrument.loinc_total,
                    "display": f"{instrument.abbreviation} total score",
                }
            ],
            "text": f"{instrument.abbreviation} total score",
        }
        data["valueInteger"] = measure.total
        data["interpretation"] = [{"text": measure.get_severity_display()}]
    elif suffix.startswith("item") and suffix[4:].isdigit():
        number = int(suffix[4:])
        if not 1 <= number <= len(instrument.items):
            raise KeyError(suffix)
        data["code"] = _item_code(instrument, instrument.items[number - 1])
        data["valueInteger"] = measure.answers[number - 1]
    else:
        raise KeyError(suffix)
    return _checked(Observation, data)


def encounter(session) -> dict:
    """US Core Encounter for a treatment session: ambulatory, typed by the course's protocol
    [R133]. Its period is when the session ran, or the planned day while it has not."""
    if session.started_at:
        period = {"start": instant(session.started_at)}
        if session.ended_at:
            period["end"] = instant(session.ended_at)
    else:
        period = {"start": session.planned_date.isoformat()}
    protocol = session.course.protocol
    data = {
        "resourceType": "Encounter",
        "id": str(session.pk),
        "meta": _meta("Encounter", session.signed_at or session.started_at or _midnight(session)),
        "identifier": [{"system": "urn:trellis:session", "value": str(session.pk)}],
        "status": ENCOUNTER_STATUS.get(session.status, "unknown"),
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
            "display": "ambulatory",
        },
        "type": [{"text": f"{protocol.name}, session {session.number}"}],
        "subject": _reference("Patient", session.patient_id),
        "period": period,
    }
    return _checked(Encounter, data)


def _midnight(session) -> datetime:
    return datetime.combine(session.planned_date, time.min, tzinfo=UTC)


def flag(alert) -> dict:
    """An open safety alert as a Flag (base R4: US Core has no Flag profile) [R135]."""
    data = {
        "resourceType": "Flag",
        "id": str(alert.pk),
        "meta": _meta("Flag", alert.acknowledged_at or alert.created_at),
        "status": "active" if alert.status == "open" else "inactive",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/flag-category",
                        "code": "safety",
                        "display": "Safety",
                    }
                ]
            }
        ],
        "code": {
            "coding": [
                {
                    "system": ALERT_KIND_SYSTEM,
                    "code": alert.kind,
                    "display": alert.get_kind_display(),
                }
            ],
            "text": alert.summary,
        },
        "subject": _reference("Patient", alert.patient_id),
        "period": {"start": instant(alert.created_at)},
    }
    if alert.acknowledged_at:
        data["period"]["end"] = instant(alert.acknowledged_at)
    return _checked(Flag, data)
