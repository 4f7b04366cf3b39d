"""The patient's pages (no sign-in), included at the root by trellis/urls.py."""

from django.urls import path

from trellis.scheduling import public_views

urlpatterns = [
    # The token is the only key (see reminders and lib.signed_tokens).
    path("a/<str:token>/", public_views.appointment_link, name="appointment_link"),
    path(
        "a/<str:token>/calendar.ics",
        public_views.appointment_link_ics,
        name="appointment_link_ics",
    ),
    path("calendar/feed/<str:token>.ics", public_views.calendar_feed, name="calendar_feed"),
]
