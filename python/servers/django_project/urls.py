from django.urls import path

from servers.django_project import views

urlpatterns = [
    path("", views.process_request),
    path("health", views.health),
]
