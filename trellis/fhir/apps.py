from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "trellis.fhir"
    label = "fhir"
    verbose_name = "FHIR R4"
