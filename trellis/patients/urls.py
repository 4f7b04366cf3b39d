from django.urls import path

from trellis.patients import views

urlpatterns = [
    path("patients/", views.patient_list, name="patient_list"),
    path("patients/new/", views.patient_new, name="patient_new"),
    path("patients/<uuid:patient_id>/", views.patient_detail, name="patient_detail"),
    path("patients/<uuid:patient_id>/edit/", views.patient_edit, name="patient_edit"),
    path(
        "patients/<uuid:patient_id>/measurements/new/",
        views.measurement_new,
        name="measurement_new",
    ),
    path("patients/<uuid:patient_id>/screenings/new/", views.screening_new, name="screening_new"),
    path("screenings/<uuid:screening_id>/", views.screening_detail, name="screening_detail"),
    path("screenings/<uuid:screening_id>/edit/", views.screening_edit, name="screening_edit"),
    path("screenings/<uuid:screening_id>/sign/", views.screening_sign, name="screening_sign"),
    path("requests/", views.request_queue, name="request_queue"),
    path("requests/<uuid:request_id>/", views.request_detail, name="request_detail"),
    path("requests/<uuid:request_id>/status/", views.request_status, name="request_status"),
    path("requests/<uuid:request_id>/contacts/", views.request_contact, name="request_contact"),
    path("request/<slug:clinic_slug>/", views.public_request, name="public_request"),
    path(
        "request/<slug:clinic_slug>/thanks/",
        views.public_request_thanks,
        name="public_request_thanks",
    ),
]
