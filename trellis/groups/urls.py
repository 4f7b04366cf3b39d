"""Included at the root by trellis/urls.py: every path carries its full prefix. The public page
sits under /request/, with the assessment request, where no sign-in is asked for."""

from django.urls import path

from trellis.groups import views

urlpatterns = [
    path("groups/", views.group_list, name="group_list"),
    path("groups/programs/new/", views.program_new, name="group_program_new"),
    path(
        "groups/programs/<uuid:program_id>/active/",
        views.program_active,
        name="group_program_active",
    ),
    path(
        "groups/programs/<uuid:program_id>/cohorts/new/",
        views.cohort_new,
        name="group_cohort_new",
    ),
    path("groups/cohorts/<uuid:cohort_id>/", views.cohort_detail, name="group_cohort"),
    path("groups/cohorts/<uuid:cohort_id>/enrol/", views.cohort_enrol, name="group_cohort_enrol"),
    path(
        "groups/cohorts/<uuid:cohort_id>/capacity/",
        views.cohort_capacity,
        name="group_cohort_capacity",
    ),
    path("groups/cohorts/<uuid:cohort_id>/edit/", views.cohort_edit, name="group_cohort_edit"),
    path(
        "groups/cohorts/<uuid:cohort_id>/close-waitlist/",
        views.cohort_close_waitlist,
        name="group_cohort_close_waitlist",
    ),
    path(
        "groups/cohorts/<uuid:cohort_id>/cancel/",
        views.cohort_cancel,
        name="group_cohort_cancel",
    ),
    path(
        "groups/enrolments/<uuid:enrolment_id>/withdraw/",
        views.enrolment_withdraw,
        name="group_enrolment_withdraw",
    ),
    path("groups/sessions/<uuid:meeting_id>/", views.meeting_detail, name="group_meeting"),
    path(
        "groups/sessions/<uuid:meeting_id>/attendance/",
        views.meeting_attendance,
        name="group_meeting_attendance",
    ),
    path("groups/sessions/<uuid:meeting_id>/move/", views.meeting_move, name="group_meeting_move"),
    path("groups/sessions/<uuid:meeting_id>/note/", views.meeting_note, name="group_meeting_note"),
    path(
        "groups/sessions/<uuid:meeting_id>/addendum/",
        views.note_addendum,
        name="group_note_addendum",
    ),
    path(
        "groups/attendance/<uuid:attendance_id>/",
        views.member_record,
        name="group_member_record",
    ),
    path("groups/interest/", views.interest_queue, name="group_interest_queue"),
    path("groups/interest/<uuid:interest_id>/", views.interest_detail, name="group_interest"),
    path("request/<slug:clinic_slug>/groups/", views.public_listing, name="group_public"),
    path(
        "request/<slug:clinic_slug>/groups/thanks/",
        views.public_thanks,
        name="group_public_thanks",
    ),
]
