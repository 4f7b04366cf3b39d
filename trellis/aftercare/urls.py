"""Included at the root by trellis/urls.py: every path carries its full prefix."""

from django.urls import path

from trellis.aftercare import views

urlpatterns = [
    path("aftercare/patients/<uuid:patient_id>/plan/", views.plan_edit, name="aftercare_plan"),
    path(
        "aftercare/patients/<uuid:patient_id>/coaching/",
        views.coaching_new,
        name="aftercare_coaching_new",
    ),
    path(
        "aftercare/patients/<uuid:patient_id>/journal/new/",
        views.journal_new,
        name="aftercare_journal_new",
    ),
    path(
        "aftercare/patients/<uuid:patient_id>/check-ins/send/",
        views.check_in_send,
        name="aftercare_check_in_send",
    ),
    # The patient's own check-in: the token is the only key (see services.new_token).
    path("c/<str:token>/", views.check_in, name="check_in"),
]
