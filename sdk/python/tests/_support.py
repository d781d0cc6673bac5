"""Helpers of the test suite: import path, local HTTP servers (a fake API and a webhook receiver)."""
from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Tuple

# Running from a checkout (`python3 -m unittest discover -s sdk/python/tests`) without installing.
SDK_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if SDK_ROOT not in sys.path:
    sys.path.insert(0, SDK_ROOT)


class Recorded:
    def __init__(self, method: str, path: str, headers: Dict[str, str], body: bytes) -> None:
        self.method = method
        self.path = path
        self.headers = headers  # lower-cased names
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


#: A reply: (status, headers, body bytes)
Reply = Tuple[int, Dict[str, str], bytes]


class LocalServer:
    """An HTTP server on 127.0.0.1:<ephemeral> in a thread. ``reply`` decides each answer; every request is recorded."""

    def __init__(self, reply: Optional[Callable[[Recorded], Reply]] = None) -> None:
        self.requests: List[Recorded] = []
        self.reply = reply or (lambda r: (200, {"Content-Type": "application/json"}, b'{"received":true}'))
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                rec = Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                outer.requests.append(rec)
                status, headers, out = outer.reply(rec)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, predicate: Callable[[Recorded], bool], timeout: float = 15.0) -> Recorded:
        end = time.monotonic() + timeout
        while True:
            for r in list(self.requests):
                if predicate(r):
                    return r
            if time.monotonic() > end:
                raise AssertionError(f"no matching request within {timeout} s; got {[(r.method, r.path, r.headers.get('x-event-type')) for r in self.requests]}")
            time.sleep(0.05)


class SilentServer:
    """Accepts connections and never answers (for timeouts)."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self.port = self._sock.getsockname()[1]
        self._conns: List[socket.socket] = []
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self._sock.settimeout(0.1)
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
                self._conns.append(conn)
            except OSError:
                continue

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        for c in self._conns:
            c.close()
        self._sock.close()


def closed_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
