from django.apps import AppConfig


class TreatmentsConfig(AppConfig):
    name = "trellis.treatments"
    label = "treatments"
    verbose_name = "Treatment courses and sessions"
