"""``httpx2-async``: the httpx client (``clients.httpx_client``) run on ``httpx2``,
httpx's maintained continuation (Pydantic's fork, the same API), so the two differ
only in the library: same settings, same connection policy, same evidence.

``python -m clients.httpx2_client`` takes ``clients.httpx_client``'s arguments.
"""

from __future__ import annotations

import sys

sys.modules.setdefault("httpx2._main", None)  # type: ignore[arg-type]  # as httpx_client does for httpx

import httpx2  # noqa: E402

sys.modules["httpx"] = httpx2  # httpx_client's `import httpx` now binds httpx2

from clients import httpx_client  # noqa: E402

if __name__ == "__main__":
    sys.exit(httpx_client.main())
