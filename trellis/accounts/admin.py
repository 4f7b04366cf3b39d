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


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "timezone", "mrn_prefix"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued with ``manage.py issue_token``; here they can only be seen or revoked."""

    list_display = ["hint", "name", "user", "clinic", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "clinic", "name", "hint", "key_hash", "created_at", "last_used_at"]

    def has_add_permission(self, request) -> bool:
        return False
