from django.contrib.auth import views as auth_views
from django.urls import path

from trellis.accounts import views
from trellis.accounts.forms import LoginForm

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("mfa/", views.mfa, name="mfa"),
    path("clinic/", views.switch_clinic, name="switch_clinic"),
    path("keepalive/", views.keepalive, name="keepalive"),
    path("", views.account, name="account"),
    path("clinic/settings/", views.clinic, name="clinic"),
    path("tokens/<uuid:token_id>/revoke/", views.revoke_token, name="revoke_token"),
]
