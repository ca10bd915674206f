"""URLs of the ASGI setup: the same project, ``/`` served by the ``async def`` view."""

from django.urls import path

from servers.django_project import views

urlpatterns = [
    path("", views.process_request_async),
    path("health", views.health),
]
