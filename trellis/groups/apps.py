from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "trellis.groups"
    label = "groups"
    verbose_name = "Group therapy"

    def ready(self) -> None:
        from trellis.accounts.permissions import Perm
        from trellis.audit import naming
        from trellis.groups import selectors, views
        from trellis.patients import panels
        from trellis.safety import sources

        # How the audit report names these records: which record, never what it says, and
        # never another member's name.
        naming.register("groups.groupprogram", lambda row, tz: f"Group program {row.name}")
        naming.register(
            "groups.cohort",
            lambda row, tz: f"Group cohort from {naming.day(row.start_date, tz)}",
        )
        naming.register(
            "groups.meeting",
            lambda row, tz: f"Group session {row.number} of {naming.day(row.start, tz)}",
        )
        naming.register("groups.enrolment", from_id=lambda value: "Group enrolment")
        naming.register(
            "groups.attendance",
            lambda row, tz: f"Group attendance of {naming.day(row.meeting.start, tz)}",
            related=["meeting"],
        )
        naming.register(
            "groups.groupnote",
            lambda row, tz: f"Group note of {naming.day(row.meeting.start, tz)}",
            related=["meeting"],
        )
        naming.register(
            "groups.membersection",
            lambda row, tz: f"Group note section of {naming.day(row.note.meeting.start, tz)}",
            related=["note__meeting"],
        )
        naming.register("groups.groupnoteaddendum", from_id=lambda value: "Group note addendum")
        naming.register("groups.groupinterest", from_id=lambda value: "Group interest request")
        # The card on the patient's page (patients imports nothing from here); the alert
        # page's link to the member's section that raised it.
        panels.register("groups", Perm.GROUP_READ, selectors.patient_card)
        sources.register("groups.membersection", views.describe_alert_source)
