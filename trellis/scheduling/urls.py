from django.urls import path

from trellis.scheduling import resource_views, views

urlpatterns = [
    path("calendar/", views.day, name="calendar_day"),
    path("calendar/week/", views.week, name="calendar_week"),
    path("calendar/book/", views.book, name="calendar_book"),
    path(
        "calendar/appointments/<uuid:appointment_id>/",
        views.appointment_detail,
        name="appointment_detail",
    ),
    path(
        "calendar/appointments/<uuid:appointment_id>/status/",
        views.change_status,
        name="appointment_status",
    ),
    path(
        "calendar/appointments/<uuid:appointment_id>/move/",
        views.move,
        name="appointment_move",
    ),
    path("calendar/courses/<uuid:course_id>/book/", views.course_book, name="course_book"),
]

# The clinic's resources, for its administrator (resource_views).
urlpatterns += [
    path("calendar/resources/", resource_views.resource_list, name="resource_list"),
    path("calendar/resources/new/", resource_views.resource_add, name="resource_add"),
    path(
        "calendar/resources/<uuid:resource_id>/", resource_views.resource_edit, name="resource_edit"
    ),
    path(
        "calendar/resources/<uuid:resource_id>/blocks/new/",
        resource_views.block_add,
        name="resource_block_add",
    ),
    path(
        "calendar/resources/<uuid:resource_id>/blocks/<uuid:block_id>/remove/",
        resource_views.block_remove,
        name="resource_block_remove",
    ),
]
