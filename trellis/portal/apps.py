from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "trellis.portal"
    label = "portal"
    verbose_name = "Patient portal"

    def ready(self) -> None:
        from trellis.accounts.permissions import Perm
        from trellis.audit import naming
        from trellis.messaging import jobs
        from trellis.patients import panels
        from trellis.portal import selectors, services

        naming.register("portal.portalaccount", from_id=lambda value: "Portal account")
        naming.register("portal.portalinvitation", from_id=lambda value: "Portal invitation")
        naming.register(
            "portal.portalrequest",
            lambda r, tz: f"Portal request of {naming.day(r.created_at, tz)}",
        )
        panels.register("portal", Perm.PATIENT_CHANGE, selectors.patient_card)
        # On every pass of the outbox worker: failed sign-ins past the lockout time.
        jobs.register(
            "portal_sign_in_failures",
            lambda now: services.prune_sign_in_failures(now=now),
            lambda count: f"forgot {count} old failed portal sign-in{'s' * (count != 1)}",
            order=90,
        )
