"""Included at the root by trellis/urls.py: every path carries its full prefix."""

from django.urls import path

from trellis.safety import views

urlpatterns = [
    path("alerts/", views.alert_queue, name="alert_queue"),
    path("alerts/<uuid:alert_id>/", views.alert_detail, name="alert_detail"),
    path("alerts/<uuid:alert_id>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
]
