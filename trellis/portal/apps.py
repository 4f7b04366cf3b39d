from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "trellis.portal"
    label = "portal"
    verbose_name = "Patient portal"

    def ready(self) -> None:
        from trellis.accounts.permissions import Perm
        from trellis.audit import naming
        from trellis.messaging import jobs
        from trellis.patients import contact, panels
        from trellis.portal import message_selectors, notifications, selectors, services
        from trellis.safety import sources

        naming.register("portal.portalaccount", from_id=lambda value: "Portal account")
        naming.register("portal.portalinvitation", from_id=lambda value: "Portal invitation")
        naming.register(
            "portal.portalrequest",
            lambda r, tz: f"Portal request of {naming.day(r.created_at, tz)}",
        )
        naming.register("portal.messagethread", from_id=lambda value: "Message conversation")
        naming.register("portal.portalmessage", from_id=lambda value: "Portal message")
        naming.register(
            "portal.notificationpreference", from_id=lambda value: "Notification settings"
        )
        naming.register("portal.portalnotice", from_id=lambda value: "Portal notice")
        # What raised a message alert, on the alert's page.
        sources.register("portal.portalmessage", message_selectors.message_source)
        panels.register("portal", Perm.PATIENT_CHANGE, selectors.patient_card)
        # Appointment and questionnaire reminders and check-in links go the way the patient
        # chose in their notification settings.
        contact.on_choice(notifications.chosen_channels)
        # On every pass of the outbox worker: failed sign-ins past the lockout time.
        jobs.register(
            "portal_sign_in_failures",
            lambda now: services.prune_sign_in_failures(now=now),
            lambda count: f"forgot {count} old failed portal sign-in{'s' * (count != 1)}",
            order=90,
        )
        # After the questionnaire schedules are made (measures, order 30): tell patients with a
        # portal sign-in of a questionnaire newly open for them.
        jobs.register(
            "portal_questionnaire_notices",
            lambda now: notifications.send_questionnaire_notices(now=now),
            lambda count: f"told {count} patient{'s' * (count != 1)} of a new questionnaire",
            order=35,
        )
