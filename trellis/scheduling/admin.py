"""The clinic's resources, their opening hours and blocks, for the site's operators; a clinic's
administrator uses the resource pages (``resource_views``), whose changes are audited.
Appointments are not here: they change only through the services (trellis.scheduling.services),
which check conflicts and audit every change."""

from django.contrib import admin

from trellis.scheduling.models import OpeningHours, Resource, ResourceBlock


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    fields = ["weekday", "opens", "closes"]
    extra = 0


class ResourceBlockInline(admin.TabularInline):
    model = ResourceBlock
    fields = ["kind", "start", "end", "note"]
    extra = 0


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "clinic", "make", "model", "coil", "is_active", "ordering"]
    list_filter = ["clinic", "kind", "is_active"]
    list_select_related = ["clinic"]
    inlines = [OpeningHoursInline, ResourceBlockInline]

    def save_formset(self, request, form, formset, change) -> None:
        for instance in formset.save(commit=False):
            instance.clinic_id = form.instance.clinic_id
            if isinstance(instance, ResourceBlock) and instance.created_by_id is None:
                instance.created_by = request.user
            instance.save()
        for obj in formset.deleted_objects:
            obj.delete()

    def has_delete_permission(self, request, obj=None) -> bool:
        # A resource with appointments is kept (PROTECT); take it out of use instead.
        return obj is None or not obj.appointments.exists()


@admin.register(ResourceBlock)
class ResourceBlockAdmin(admin.ModelAdmin):
    list_display = ["resource", "kind", "start", "end", "note", "clinic"]
    list_filter = ["clinic", "kind"]
    list_select_related = ["resource", "clinic"]
    fields = ["resource", "kind", "start", "end", "note"]

    def save_model(self, request, obj, form, change) -> None:
        obj.clinic_id = obj.resource.clinic_id
        if obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
