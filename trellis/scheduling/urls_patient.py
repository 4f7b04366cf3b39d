from django.urls import path

from trellis.scheduling import feed_views

urlpatterns = [
    path(
        "patients/<uuid:patient_id>/calendar-link/",
        feed_views.calendar_link,
        name="patient_calendar_link",
    ),
    path(
        "patients/<uuid:patient_id>/calendar-link/stop/",
        feed_views.stop_calendar_link,
        name="patient_calendar_link_stop",
    ),
]
