from django.contrib.auth import views as auth_views
from django.urls import path

from trellis.accounts import staff_views, views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("mfa/", views.mfa, name="mfa"),
    path("clinic/", views.switch_clinic, name="switch_clinic"),
    path("keepalive/", views.keepalive, name="keepalive"),
    path("", views.account, name="account"),
    path("clinic/settings/", views.clinic, name="clinic"),
    path("tokens/<uuid:token_id>/revoke/", views.revoke_token, name="revoke_token"),
    # Staff administration (clinic administrators).
    path("staff/", staff_views.staff_list, name="staff_list"),
    path("staff/invite/", staff_views.staff_invite, name="staff_invite"),
    path("staff/member/<str:username>/", staff_views.staff_member, name="staff_member"),
    path(
        "staff/member/<str:username>/<slug:change>/",
        staff_views.staff_change,
        name="staff_change",
    ),
    # Passwords: change (signed in), reset by e-mail, and the invitation's first password.
    path("password/", staff_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/changed/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password/reset/", staff_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        staff_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("welcome/<uidb64>/<token>/", staff_views.InvitationView.as_view(), name="invitation"),
    path("welcome/done/", staff_views.invitation_done, name="invitation_done"),
]
