from django.contrib import admin, messages

from trellis.messaging.models import OutboxMessage
from trellis.messaging.services import requeue


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Messages are written by the services and sent by ``run_outbox``: here they are only read,
    and failed ones can be sent again."""

    list_display = ["created_at", "channel", "purpose", "clinic", "status", "attempts", "sent_at"]
    list_filter = ["status", "channel", "purpose", "clinic"]
    list_select_related = ["clinic"]
    date_hierarchy = "created_at"
    actions = ["send_again"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Send the selected failed messages again")
    def send_again(self, request, queryset) -> None:
        count = requeue(queryset)
        self.message_user(request, f"{count} failed message(s) queued again.", messages.SUCCESS)
