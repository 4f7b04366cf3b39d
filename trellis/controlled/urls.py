from django.urls import path

from trellis.controlled import views

urlpatterns = [
    path("controlled/", views.stock, name="controlled_stock"),
    path("controlled/receive/", views.receive, name="controlled_receive"),
    path("controlled/count/", views.count, name="controlled_count"),
    path(
        "controlled/containers/<uuid:container_id>/",
        views.container,
        name="controlled_container",
    ),
    path("controlled/witness/", views.witness, name="controlled_witness"),
    path(
        "controlled/witness/<uuid:entry_id>/",
        views.witness_confirm,
        name="controlled_witness_confirm",
    ),
    path("controlled/records/", views.inspection, name="controlled_records"),
    path("controlled/reconciliation/", views.reconciliation, name="controlled_reconciliation"),
    path("controlled/losses/", views.losses, name="controlled_losses"),
    path("controlled/losses/<uuid:report_id>/", views.loss, name="controlled_loss"),
    path(
        "controlled/sessions/<uuid:session_id>/choose/",
        views.session_choose,
        name="controlled_session_choose",
    ),
    path(
        "controlled/sessions/<uuid:session_id>/draws/<uuid:draw_id>/remove/",
        views.session_unchoose,
        name="controlled_session_unchoose",
    ),
    path(
        "controlled/sessions/<uuid:session_id>/waste/",
        views.session_waste,
        name="controlled_session_waste",
    ),
]
