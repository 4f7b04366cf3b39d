from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "trellis.desk"
    label = "desk"
    verbose_name = "Work lists"
