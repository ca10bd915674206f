#!/usr/bin/env python
"""Django's manage.py, as ``python manage.py runserver`` in the article.

One addition: ``runserver``'s WSGI environ gets ``REMOTE_PORT``, the client's TCP
source port, which every other server gives its handlers. The view reports it so
the harness can tell which connection carried each request (kept across batches,
or a new one per request). ``runserver`` cannot be handed a request handler of our
own (``basehttp.run`` names ``WSGIRequestHandler`` itself) and wsgiref's
``get_environ`` sets only ``REMOTE_ADDR``, so the one method is wrapped; nothing
else about how runserver serves changes.
"""

import os
import sys


def _add_remote_port() -> None:
    from django.core.servers.basehttp import WSGIRequestHandler

    get_environ = WSGIRequestHandler.get_environ

    def get_environ_with_port(self: WSGIRequestHandler) -> dict[str, str]:
        environ = get_environ(self)
        environ["REMOTE_PORT"] = str(self.client_address[1])
        return environ

    WSGIRequestHandler.get_environ = get_environ_with_port  # type: ignore[method-assign]


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servers.django_project.settings")
    from django.core.management import execute_from_command_line

    _add_remote_port()
    execute_from_command_line(sys.argv)
