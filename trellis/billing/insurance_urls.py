"""Included at the root by trellis/urls.py: every path carries its full prefix."""

from django.urls import path

from trellis.billing import insurance_views as views

urlpatterns = [
    path("billing/payers/", views.payer_list, name="payer_list"),
    path("billing/payers/new/", views.payer_edit, name="payer_new"),
    path("billing/payers/<uuid:payer_id>/", views.payer_edit, name="payer_edit"),
    path(
        "billing/patients/<uuid:patient_id>/coverage/new/",
        views.coverage_new,
        name="coverage_new",
    ),
    path("billing/coverage/<uuid:coverage_id>/", views.coverage_edit, name="coverage_edit"),
    path("billing/coverage/<uuid:coverage_id>/end/", views.coverage_end, name="coverage_end"),
    path("billing/authorisations/", views.authorisation_list, name="authorisation_list"),
    path(
        "billing/courses/<uuid:course_id>/authorisations/new/",
        views.authorisation_new,
        name="authorisation_new",
    ),
    path(
        "billing/authorisations/<uuid:auth_id>/",
        views.authorisation_detail,
        name="authorisation_detail",
    ),
    path(
        "billing/authorisations/<uuid:auth_id>/submit/",
        views.authorisation_submit,
        name="authorisation_submit",
    ),
    path(
        "billing/authorisations/<uuid:auth_id>/decision/",
        views.authorisation_decide,
        name="authorisation_decide",
    ),
    path(
        "billing/authorisations/<uuid:auth_id>/criteria/",
        views.authorisation_attest,
        name="authorisation_attest",
    ),
    path(
        "billing/patients/<uuid:patient_id>/estimates/new/",
        views.estimate_new,
        name="estimate_new",
    ),
    path("billing/estimates/<uuid:estimate_id>/", views.estimate_detail, name="estimate_detail"),
    path("billing/estimates/<uuid:estimate_id>/pdf/", views.estimate_pdf, name="estimate_pdf"),
]
