from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "trellis.messaging"
    label = "messaging"
    verbose_name = "Messages to staff and patients"
