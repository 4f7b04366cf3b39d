from django.urls import path, re_path

from trellis.fhir import views, views_bulk, views_smart

urlpatterns = [
    path("fhir/r4/metadata", views.metadata, name="fhir_metadata"),
    path(
        "fhir/r4/.well-known/smart-configuration",
        views_smart.smart_configuration,
        name="fhir_smart_configuration",
    ),
    path("fhir/r4/auth/token", views_smart.token, name="fhir_token"),
    path("fhir/r4/$export", views_bulk.system_export, name="fhir_export"),
    path("fhir/r4/Patient/$export", views_bulk.patient_export, name="fhir_patient_export"),
    path("fhir/r4/Group/<str:group_id>/$export", views_bulk.group_export, name="fhir_group_export"),
    path("fhir/r4/Group/<str:group_id>", views_bulk.group_read, name="fhir_group"),
    path("fhir/r4/$export-status/<uuid:pk>", views_bulk.export_status, name="fhir_export_status"),
    path("fhir/r4/$export-file/<uuid:pk>", views_bulk.export_file, name="fhir_export_file"),
    re_path(r"^fhir/r4/(?P<kind>[A-Z][A-Za-z]+)/?$", views.search_type, name="fhir_search"),
    re_path(
        r"^fhir/r4/(?P<kind>[A-Z][A-Za-z]+)/(?P<pk>[A-Za-z0-9\-\.]{1,64})$",
        views.read,
        name="fhir_read",
    ),
    re_path(r"^fhir/r4/(?P<rest>.*)$", views.not_found),
]
