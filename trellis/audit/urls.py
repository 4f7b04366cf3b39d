from django.urls import path

from trellis.audit import views

urlpatterns = [
    path("", views.report, name="audit_report"),
    path("export.csv", views.export, name="audit_export"),
]
