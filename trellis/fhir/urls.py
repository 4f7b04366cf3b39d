from django.urls import path, re_path

from trellis.fhir import views

urlpatterns = [
    path("fhir/r4/metadata", views.metadata, name="fhir_metadata"),
    re_path(r"^fhir/r4/(?P<kind>[A-Z][A-Za-z]+)/?$", views.search_type, name="fhir_search"),
    re_path(
        r"^fhir/r4/(?P<kind>[A-Z][A-Za-z]+)/(?P<pk>[A-Za-z0-9\-\.]{1,64})$",
        views.read,
        name="fhir_read",
    ),
    re_path(r"^fhir/r4/(?P<rest>.*)$", views.not_found),
]
