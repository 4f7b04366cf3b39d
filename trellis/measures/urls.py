"""Included at the root by trellis/urls.py: every path carries its full prefix."""

from django.urls import path

from trellis.measures import views

urlpatterns = [
    path(
        "patients/<uuid:patient_id>/measures/<slug:instrument>/new/",
        views.measure_new,
        name="measure_new",
    ),
    path(
        "patients/<uuid:patient_id>/measures/",
        views.patient_measure_list,
        name="patient_measure_list",
    ),
    path(
        "patients/<uuid:patient_id>/questionnaire-links/new/",
        views.link_new,
        name="questionnaire_link_new",
    ),
    path("measures/due/", views.measures_due, name="measures_due"),
    path("measures/due/<uuid:scheduled_id>/send/", views.due_send_link, name="due_send_link"),
    path("measures/<uuid:measure_id>/", views.measure_detail, name="measure_detail"),
    # The patient's own form: the token is the only key (see services.new_link_token).
    path("q/<str:token>/", views.questionnaire, name="questionnaire"),
]
