from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from trellis.accounts.models import ApiToken, Clinic, Membership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(User)
class StaffAdmin(UserAdmin):
    inlines = [MembershipInline]
    list_display = ["username", "first_name", "last_name", "email", "is_active"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Staff who leave are deactivated (untick Active), never deleted: their names stay on
        # what they recorded and signed, and those references are not indexed for a delete.
        return False


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "timezone", "mrn_prefix"]
    prepopulated_fields = {"slug": ["name"]}

    def has_delete_permission(self, request, obj=None) -> bool:
        # Clinics are never deleted: every record keeps the clinic it belongs to.
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued with ``manage.py issue_token``; here they can only be seen or revoked."""

    list_display = ["hint", "name", "user", "clinic", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "clinic", "name", "hint", "key_hash", "created_at", "last_used_at"]

    def has_add_permission(self, request) -> bool:
        return False
