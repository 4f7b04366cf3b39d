from django.urls import path

from trellis.reports import views

urlpatterns = [
    path("reports/outcomes/", views.outcomes_page, name="report_outcomes"),
    path("reports/outcomes.csv", views.outcomes_csv, name="report_outcomes_csv"),
]
