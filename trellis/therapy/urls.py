"""Included at the root by trellis/urls.py: every path carries its full prefix."""

from django.urls import path

from trellis.therapy import views

urlpatterns = [
    path(
        "therapy/sessions/<uuid:session_id>/progress-notes/new/",
        views.progress_note_for_session,
        name="progress_note_for_session",
    ),
    path(
        "therapy/appointments/<uuid:appointment_id>/progress-notes/new/",
        views.progress_note_for_appointment,
        name="progress_note_for_appointment",
    ),
    path(
        "therapy/progress-notes/<uuid:note_id>/",
        views.progress_note_detail,
        name="progress_note_detail",
    ),
    path(
        "therapy/progress-notes/<uuid:note_id>/sign/",
        views.progress_note_sign,
        name="progress_note_sign",
    ),
    path(
        "therapy/progress-notes/<uuid:note_id>/addendum/",
        views.progress_note_addendum,
        name="progress_note_addendum",
    ),
    path(
        "therapy/progress-notes/<uuid:note_id>/alert/",
        views.progress_note_alert,
        name="progress_note_alert",
    ),
    path("therapy/patients/<uuid:patient_id>/goals/", views.goal_new, name="goal_new"),
    path("therapy/goals/<uuid:goal_id>/status/", views.goal_status, name="goal_status"),
    path(
        "therapy/patients/<uuid:patient_id>/psychotherapy-notes/",
        views.psychotherapy_notes,
        name="psychotherapy_notes",
    ),
    path(
        "therapy/patients/<uuid:patient_id>/psychotherapy-notes/grants/",
        views.psychotherapy_grant,
        name="psychotherapy_grant",
    ),
    path(
        "therapy/psychotherapy-grants/<uuid:grant_id>/revoke/",
        views.psychotherapy_grant_revoke,
        name="psychotherapy_grant_revoke",
    ),
]
