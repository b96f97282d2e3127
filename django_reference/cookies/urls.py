from django.urls import path

from . import views

urlpatterns = [
    path("set", views.set_cookies),
    path("read", views.read_cookies),
    path("signing", views.signing_ops),
]
