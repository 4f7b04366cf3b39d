"""Included at the root by trellis/urls.py: every path carries its full prefix."""

from django.urls import path

from trellis.portal import views, views_messages

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
    path("portal/messages/", views_messages.thread_list, name="portal_messages"),
    path("portal/messages/new/", views_messages.new_thread, name="portal_message_new"),
    path("portal/messages/<uuid:thread_id>/", views_messages.thread, name="portal_message_thread"),
    path(
        "portal/notifications/",
        views_messages.notification_settings,
        name="portal_notifications",
    ),
    # The clinic's side of secure messages.
    path("messages/", views_messages.inbox, name="portal_inbox"),
    path("messages/<uuid:thread_id>/", views_messages.staff_thread, name="portal_inbox_thread"),
    path("messages/<uuid:thread_id>/close/", views_messages.close, name="portal_inbox_close"),
]
