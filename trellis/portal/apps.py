from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "trellis.portal"
    label = "portal"
    verbose_name = "Patient portal"

    def ready(self) -> None:
        from trellis.accounts.permissions import Perm
        from trellis.audit import naming
        from trellis.patients import panels
        from trellis.portal import selectors

        naming.register("portal.portalaccount", from_id=lambda value: "Portal account")
        naming.register("portal.portalinvitation", from_id=lambda value: "Portal invitation")
        panels.register("portal", Perm.PATIENT_CHANGE, selectors.patient_card)
