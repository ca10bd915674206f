"""granian on an inherited listening socket: ``python -m servers.granian_fd FD <granian CLI args>``.

granian's command line cannot take a socket the harness opened (no ``--fd``), and
with ``--port 0`` its log names port 0, not the one it bound, so neither way the
harness gives a server its socket works as it is. This wrapper replaces the one
method of granian's multi-process server that creates the shared socket with one
that wraps the inherited descriptor, then runs granian's own CLI unchanged.

It uses granian internals (``MPServer._init_shared_socket``, ``SocketHolder``;
checked with granian 2.8.7, pinned in constraints.txt) and the fork start method;
free-threaded builds run granian's workers as threads (``MTServer``), not covered.
"""

import socket
import sys

from granian._granian import SocketHolder  # type: ignore[import-not-found]
from granian.cli import cli
from granian.server import MPServer

FD = int(sys.argv.pop(1))


def _inherited(self: MPServer) -> None:
    self._ssp, self._shd, self._sfd = None, SocketHolder(FD, False, self.backlog), FD
    self._sso = socket.socket(fileno=FD)
    self._sso.set_inheritable(True)
    # Accepted sockets inherit TCP_NODELAY from the listener on Linux; granian's HTTP/2
    # path does not set it, and without it every answer waited ~40 ms for the client's
    # delayed ACK (measured: 44 ms instead of 3 ms per request).
    self._sso.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


MPServer._init_shared_socket = _inherited  # type: ignore[method-assign]
sys.exit(cli())
