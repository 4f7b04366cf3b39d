from django.contrib import admin
from django.urls import include, path

from trellis import views
from trellis.api import api
from trellis.desk import views as desk_views

urlpatterns = [
    path("", desk_views.home, name="home"),
    path(
        "desk/appointments/<uuid:appointment_id>/check-in/",
        desk_views.check_in,
        name="desk_check_in",
    ),
    path("healthz", views.healthz, name="healthz"),
    path("sources/", views.sources_page, name="sources"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/", include("trellis.accounts.urls")),
    path("", include("trellis.patients.urls")),
    path("", include("trellis.measures.urls")),
    path("", include("trellis.safety.urls")),
    path("", include("trellis.treatments.urls")),
    path("", include("trellis.treatments.urls_courses")),
    path("", include("trellis.treatments.urls_oral")),
    path("", include("trellis.scheduling.urls")),
    path("", include("trellis.scheduling.urls_patient")),
    path("", include("trellis.reports.urls")),
    path("", include("trellis.scheduling.urls_public")),
    path("", include("trellis.controlled.urls")),
    path("", include("trellis.therapy.urls")),
    path("", include("trellis.aftercare.urls")),
    path("", include("trellis.billing.insurance_urls")),
    path("", include("trellis.billing.urls")),
    path("", include("trellis.groups.urls")),
    path("", include("trellis.plans.urls")),
    path("", include("trellis.portal.urls")),
    path("audit/", include("trellis.audit.urls")),
    path("", include("trellis.fhir.urls")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]

handler403 = "trellis.lib.errorpages.forbidden"
handler404 = "trellis.lib.errorpages.not_found"
handler500 = "trellis.lib.errorpages.server_error"
