"""ASGI entry point: Django under uvicorn, serving the ``async def`` view."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servers.django_project.settings_asgi")
application = get_asgi_application()
