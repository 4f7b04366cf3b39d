from django.urls import path

from trellis.treatments import views

urlpatterns = [
    path("sessions/<uuid:session_id>/", views.session_detail, name="session_detail"),
    path("sessions/<uuid:session_id>/begin/", views.session_begin, name="session_begin"),
    path("sessions/<uuid:session_id>/close/", views.session_close, name="session_close"),
    path("sessions/<uuid:session_id>/save/", views.session_save, name="session_save"),
    path("sessions/<uuid:session_id>/vitals/", views.session_vitals, name="session_vitals"),
    path(
        "sessions/<uuid:session_id>/note-draft/",
        views.session_note_draft,
        name="session_note_draft",
    ),
    path(
        "sessions/<uuid:session_id>/keepalive/", views.session_keepalive, name="session_keepalive"
    ),
    path("sessions/<uuid:session_id>/sign/", views.session_sign, name="session_sign"),
    path("sessions/<uuid:session_id>/addenda/", views.session_addendum, name="session_addendum"),
    path(
        "sessions/<uuid:session_id>/motor-threshold/",
        views.motor_threshold_new,
        name="motor_threshold_new",
    ),
    path("rems/", views.rems_list, name="rems_list"),
    path("rems/<uuid:form_id>/", views.rems_detail, name="rems_detail"),
    path("rems/<uuid:form_id>/print/", views.rems_print, name="rems_print"),
    path("rems/<uuid:form_id>/sign/", views.rems_sign, name="rems_sign"),
    path("rems/<uuid:form_id>/submit/", views.rems_submit, name="rems_submit"),
]
