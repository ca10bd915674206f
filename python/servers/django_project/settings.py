"""Minimal, safe settings: DEBUG off, loopback hosts only, no database.

The secret key is generated at every start and never written anywhere: nothing
here signs data that must outlive the process.

``ALLOWED_HOSTS``: loopback, plus only the address(es) ``harness serve --host``
bound, which the harness passes in ``HARNESS_ALLOWED_HOSTS`` (comma-separated;
empty on loopback), so a server measured from another host answers that host's
requests and no others.
"""

import os
import secrets

DEBUG = False
ALLOWED_HOSTS = [
    "127.0.0.1",
    "localhost",
    "[::1]",
    *(h for h in os.environ.get("HARNESS_ALLOWED_HOSTS", "").split(",") if h),
]
SECRET_KEY = secrets.token_urlsafe(50)
ROOT_URLCONF = "servers.django_project.urls"
WSGI_APPLICATION = "servers.django_project.wsgi.application"
INSTALLED_APPS: list[str] = []
# CommonMiddleware is what checks the Host header against ALLOWED_HOSTS.
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
