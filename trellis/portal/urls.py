"""Included at the root by trellis/urls.py: every path carries its full prefix."""

from django.urls import path

from trellis.portal import (
    views,
    views_education,
    views_groups,
    views_messages,
    views_notes,
    views_passkeys,
    views_requests,
)

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
    path("portal/check-ins/<uuid:check_in_id>/", views.check_in, name="portal_check_in"),
    path("portal/journal/", views.journal, name="portal_journal"),
    path("portal/notes/", views_notes.notes, name="portal_notes"),
    path("portal/groups/", views_groups.groups_page, name="portal_groups"),
    path("portal/groups/<uuid:cohort_id>/ask/", views_groups.ask, name="portal_group_ask"),
    # The education library: the patient's pages, and the staff's list and editor.
    path("portal/learn/", views_education.learn, name="portal_learn"),
    path("portal/learn/<slug:slug>/", views_education.learn_page, name="portal_learn_page"),
    path("education/", views_education.library, name="education_list"),
    path("education/load/", views_education.load, name="education_load"),
    path("education/<uuid:page_id>/", views_education.page, name="education_page"),
    path("education/<uuid:page_id>/review/", views_education.review, name="education_review"),
    path("education/<uuid:page_id>/publish/", views_education.publish, name="education_publish"),
    path("education/<uuid:page_id>/withdraw/", views_education.withdraw, name="education_withdraw"),
    path(
        "portal/authenticator/passkey/options/",
        views_passkeys.enrolment_options,
        name="portal_enrol_passkey_options",
    ),
    path("portal/authenticator/passkey/", views_passkeys.enrol, name="portal_enrol_passkey"),
    path("portal/passkeys/", views_passkeys.passkey_list, name="portal_passkeys"),
    path(
        "portal/passkeys/options/",
        views_passkeys.registration_options,
        name="portal_passkey_options",
    ),
    path("portal/passkeys/add/", views_passkeys.register, name="portal_passkey_add"),
    path(
        "portal/passkeys/<uuid:passkey_id>/remove/",
        views_passkeys.remove,
        name="portal_passkey_remove",
    ),
    path(
        "portal/sign-in/passkey/options/",
        views_passkeys.sign_in_options,
        name="portal_passkey_sign_in_options",
    ),
    path("portal/sign-in/passkey/", views_passkeys.sign_in, name="portal_passkey_sign_in"),
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
