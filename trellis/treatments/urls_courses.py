from django.urls import path

from trellis.treatments import course_views

urlpatterns = [
    path("patients/<uuid:patient_id>/courses/new/", course_views.course_new, name="course_new"),
    path("courses/<uuid:course_id>/", course_views.course_detail, name="course_detail"),
    path("courses/<uuid:course_id>/replan/", course_views.course_replan, name="course_replan"),
    path("courses/<uuid:course_id>/stop/", course_views.course_stop, name="course_stop"),
    path("sessions/today/", course_views.sessions_today, name="sessions_today"),
    path("clinic/closures/", course_views.closures, name="closures"),
    path("clinic/closures/remove/", course_views.closure_remove, name="closure_remove"),
    path("clinic/closures/holiday/", course_views.closure_holiday, name="closure_holiday"),
]
