"""A loopback port that refuses connections and that nothing else can take.

Binding a socket and closing it ("a free port") leaves the port to the next process that asks, so a test expecting
"connection refused" could meet someone else's server instead. Here the socket stays bound, and never listens, for
as long as the test process runs: a connection gets a reset at once (ECONNREFUSED), and no other socket can bind
the port (the socket has no SO_REUSEADDR).
"""

from __future__ import annotations

import socket
import threading

_lock = threading.Lock()
_held: socket.socket | None = None


def refusing_port() -> int:
    """A loopback TCP port that refuses every connection for the rest of this process (the same one each call)."""
    global _held
    with _lock:
        if _held is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))  # bound, never listening: the kernel answers every SYN with a reset
            _held = sock
        return int(_held.getsockname()[1])


def refusing_url() -> str:
    """``http://127.0.0.1:<refusing_port()>``: a server that is down, for as long as the test needs it."""
    return f"http://127.0.0.1:{refusing_port()}"
