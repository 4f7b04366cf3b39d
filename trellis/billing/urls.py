"""Included at the root by trellis/urls.py: every path carries its full prefix."""

from django.urls import path

from trellis.billing import views

urlpatterns = [
    path("billing/patients/<uuid:patient_id>/", views.account, name="billing_account"),
    path(
        "billing/patients/<uuid:patient_id>/payments/new/",
        views.payment_new,
        name="billing_payment_new",
    ),
    path(
        "billing/patients/<uuid:patient_id>/statement/",
        views.statement,
        name="billing_statement",
    ),
    path(
        "billing/patients/<uuid:patient_id>/superbill/",
        views.superbill,
        name="billing_superbill",
    ),
    path("billing/patients/<uuid:patient_id>/claim/", views.claim, name="billing_claim"),
    path(
        "billing/charges/<uuid:charge_id>/correct/",
        views.charge_correct,
        name="billing_charge_correct",
    ),
    path(
        "billing/patients/<uuid:patient_id>/diagnoses/new/",
        views.diagnosis_new,
        name="diagnosis_new",
    ),
    path(
        "billing/diagnoses/<uuid:diagnosis_id>/resolve/",
        views.diagnosis_resolve,
        name="diagnosis_resolve",
    ),
    path("billing/fees/", views.fees, name="billing_fees"),
    path("billing/fees/<str:code>/", views.fee_set, name="billing_fee_set"),
    path("billing/reports/takings/", views.takings, name="billing_takings"),
    path("billing/reports/aged/", views.aged, name="billing_aged"),
    path("billing/reports/over-estimate/", views.over_estimate, name="billing_over_estimate"),
]
