"""Included at the root by trellis/urls.py: every path carries its full prefix."""

from django.urls import path

from trellis.portal import views, views_requests

urlpatterns = [
    path(
        "patients/<uuid:patient_id>/portal-invitation/",
        views.invite,
        name="portal_invite",
    ),
    path(
        "patients/<uuid:patient_id>/portal-sign-in/revoke/",
        views.revoke,
        name="portal_revoke",
    ),
    path("portal-requests/", views_requests.request_queue, name="portal_request_queue"),
    path(
        "portal-requests/<uuid:request_id>/answer/",
        views_requests.answer,
        name="portal_request_answer",
    ),
    # The patient's portal: its own session cookie, sent only under /portal/.
    path("portal/", views.home, name="portal_home"),
    path("portal/sign-in/", views.sign_in, name="portal_sign_in"),
    path("portal/sign-out/", views.sign_out, name="portal_sign_out"),
    path("portal/welcome/<str:token>/", views.welcome, name="portal_welcome"),
    path("portal/authenticator/", views.authenticator, name="portal_authenticator"),
    path(
        "portal/questionnaires/<uuid:scheduled_id>/",
        views.questionnaire,
        name="portal_questionnaire",
    ),
    path("portal/scores/", views.scores, name="portal_scores"),
    path("portal/aftercare/", views.aftercare, name="portal_aftercare"),
    path("portal/journal/", views.journal, name="portal_journal"),
    path("portal/appointments/", views_requests.appointments, name="portal_appointments"),
    path(
        "portal/appointments/<uuid:appointment_id>/cancel/",
        views_requests.ask_to_cancel,
        name="portal_ask_cancel",
    ),
    path(
        "portal/appointments/<uuid:appointment_id>/change/",
        views_requests.ask_to_reschedule,
        name="portal_ask_reschedule",
    ),
]
