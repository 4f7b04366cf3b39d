from django.urls import path

from trellis.plans import views

urlpatterns = [
    path("patients/<uuid:patient_id>/plans/new/", views.plan_new, name="plan_new"),
    path("plans/<uuid:plan_id>/", views.plan_detail, name="plan_detail"),
    path("plans/<uuid:plan_id>/book/", views.plan_book, name="plan_book"),
    path(
        "patients/<uuid:patient_id>/maintenance/new/",
        views.maintenance_new,
        name="maintenance_new",
    ),
    path("maintenance/<uuid:plan_id>/", views.maintenance_detail, name="maintenance_detail"),
    path("maintenance/<uuid:plan_id>/book/", views.maintenance_book, name="maintenance_book"),
    path("maintenance/<uuid:plan_id>/end/", views.maintenance_end, name="maintenance_end"),
    path("relapse-flags/<uuid:flag_id>/review/", views.flag_review, name="flag_review"),
]
