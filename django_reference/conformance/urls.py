"""URLs: the contract's health endpoint, then one include per topic."""
from django.urls import include, path

from contract.views import health

urlpatterns = [
    path("__djc__/health", health),
    path("cookies/", include("cookies.urls")),
]
