"""The server's CapabilityStatement at ``/fhir/r4/metadata`` [R135]: what is served, with its
US Core profile and search parameters, built from the same table the views dispatch on."""

from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from trellis.fhir.resources import PROFILES
from trellis.fhir.resources_clinical import PROFILES as MORE_PROFILES
from trellis.fhir.selectors import SERVED

# Search parameter → FHIR type, and where the base specification defines it.
PARAM_TYPES = {
    "_id": "token",
    "_lastUpdated": "date",
    "identifier": "token",
    "patient": "reference",
    "code": "token",
    "category": "token",
    "date": "date",
    "authored": "date",
    "url": "uri",
    "name": "string",
    "birthdate": "date",
    "gender": "token",
    "effective-time": "date",
}
BASE_PROFILE = "http://hl7.org/fhir/StructureDefinition/"
RELEASED = "2026-12-01"
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"


def statement(base: str) -> dict:
    resources = []
    for kind, served in SERVED.items():
        entry = {
            "type": kind,
            "profile": BASE_PROFILE + kind,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [{"name": name, "type": PARAM_TYPES[name]} for name in served.params]
            + [{"name": "_count", "type": "number"}],
        }
        if kind in PROFILES:
            entry["supportedProfile"] = [PROFILES[kind]]
        if kind in MORE_PROFILES:
            entry["supportedProfile"] = entry.get("supportedProfile", []) + MORE_PROFILES[kind]
        resources.append(entry)
    data = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": RELEASED,
        "publisher": "Trellis",
        "kind": "instance",
        "software": {"name": "Trellis"},
        "implementation": {"description": "Trellis FHIR R4 read API", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "implementationGuide": ["http://hl7.org/fhir/us/core/ImplementationGuide/hl7.fhir.us.core"],
        "instantiates": ["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Bearer tokens issued by the clinic (manage.py issue_token), as the JSON API, "
                    "or SMART Backend Services tokens for registered system clients."
                ),
                # SMART Backend Services: where to get a token [R137].
                "security": {
                    "extension": [
                        {
                            "url": OAUTH_URIS,
                            "extension": [{"url": "token", "valueUri": f"{base}/auth/token"}],
                        }
                    ],
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": SECURITY_SERVICE,
                                    "code": "SMART-on-FHIR",
                                    "display": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "description": (
                        "Authorization: Bearer <token>; metadata and "
                        ".well-known/smart-configuration need none. System clients get a "
                        "token at auth/token with a signed JWT (private_key_jwt, RS384 or "
                        "ES384) and system/*.rs scopes."
                    ),
                },
                "resource": resources,
                # Bulk Data $export at system, Patient and Group level [R136] (trellis.fhir.bulk).
                "operation": [
                    {
                        "name": "export",
                        "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
                    },
                    {
                        "name": "patient-export",
                        "definition": (
                            "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"
                        ),
                    },
                    {
                        "name": "group-export",
                        "definition": (
                            "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"
                        ),
                    },
                ],
            }
        ],
    }
    return CapabilityStatement.model_validate(data).model_dump(mode="json", exclude_none=True)
