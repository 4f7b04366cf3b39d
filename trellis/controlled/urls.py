from django.urls import path

from trellis.controlled import views

urlpatterns = [path("controlled/", views.stock, name="controlled_stock")]
