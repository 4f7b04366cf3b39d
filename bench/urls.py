"""Trellis's URLs plus the bare view; mounted only through bench/settings.py."""

from django.urls import path

from bench import views
from trellis.urls import handler403, handler404, handler500
from trellis.urls import urlpatterns as trellis_urlpatterns

urlpatterns = [path("bench/bare", views.bare, name="bench_bare"), *trellis_urlpatterns]

__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]
