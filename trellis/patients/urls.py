from django.urls import path

from trellis.patients import views

urlpatterns = [
    path("", views.patient_list, name="patient_list"),
    path("<uuid:patient_id>/", views.patient_detail, name="patient_detail"),
]
