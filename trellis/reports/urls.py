from django.urls import path

from trellis.reports import views, views_research

urlpatterns = [
    path("reports/outcomes/", views.outcomes_page, name="report_outcomes"),
    path("reports/outcomes.csv", views.outcomes_csv, name="report_outcomes_csv"),
    path("reports/research/", views_research.research_page, name="report_research"),
    path(
        "reports/research/<uuid:pk>/<str:name>",
        views_research.research_file,
        name="report_research_file",
    ),
]
