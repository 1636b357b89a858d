"""Is Marketo reachable at all? A TCP connect, not an API call: it costs no quota and answers in milliseconds.

Used to show the cached grid at once when offline, instead of waiting for the client's retries to run out.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlparse

PROBE_TIMEOUT_S = 3.0


async def tcp_reachable(url: str, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    parsed = urlparse(url)
    host = parsed.hostname
    if not host:
        return False
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except (OSError, TimeoutError):
        return False
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return True
