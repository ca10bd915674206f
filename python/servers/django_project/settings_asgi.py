"""The same minimal settings, with the ASGI setup's URLs."""

from servers.django_project.settings import *  # noqa: F403

ROOT_URLCONF = "servers.django_project.urls_asgi"
