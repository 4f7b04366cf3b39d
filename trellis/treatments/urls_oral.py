from django.urls import path

from trellis.treatments import oral_views as views

urlpatterns = [
    path(
        "patients/<uuid:patient_id>/prescriptions/",
        views.patient_prescriptions,
        name="patient_prescriptions",
    ),
    path(
        "patients/<uuid:patient_id>/prescriptions/new/",
        views.prescription_new,
        name="prescription_new",
    ),
    path("patients/<uuid:patient_id>/pdmp-checks/", views.pdmp_check_new, name="pdmp_check_new"),
    path(
        "patients/<uuid:patient_id>/urine-drug-screens/",
        views.urine_drug_screen_new,
        name="urine_drug_screen_new",
    ),
    path(
        "patients/<uuid:patient_id>/bladder-checks/",
        views.bladder_check_new,
        name="bladder_check_new",
    ),
    path(
        "prescriptions/<uuid:prescription_id>/fills/",
        views.prescription_fill_new,
        name="prescription_fill_new",
    ),
    path(
        "prescriptions/<uuid:prescription_id>/cancel/",
        views.prescription_cancel,
        name="prescription_cancel",
    ),
    path(
        "sessions/<uuid:session_id>/bladder-check/",
        views.session_bladder_check,
        name="session_bladder_check",
    ),
]
