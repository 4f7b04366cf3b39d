from django.urls import path

from trellis.scheduling import views

urlpatterns = [
    path("calendar/", views.day, name="calendar_day"),
    path("calendar/week/", views.week, name="calendar_week"),
    path("calendar/book/", views.book, name="calendar_book"),
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
