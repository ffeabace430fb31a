"""A real HTTP server on 127.0.0.1 serving image data, for store and api tests.

Routes: /images/NAME (with Range), /redirect/N/NAME, /loop/, /to?url=U,
/hang, /nohead/NAME (HEAD refused), /norange/NAME, /truncated/NAME.
"""

from __future__ import annotations

import http.server
import re
import sys
import threading
import urllib.parse
from contextlib import contextmanager

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class ImageServer(http.server.ThreadingHTTPServer):
    """Serves ``images`` by name, with Range, redirects and misbehaviours."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.images: dict[str, bytes] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.release = threading.Event()
        self.errors: list[BaseException] = []

    def handle_error(self, request, client_address) -> None:
        # Clients that hang up (TLS refusals, timeouts) are expected here.
        self.errors.append(sys.exc_info()[1])

    @property
    def port(self) -> int:
        return self.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        server: ImageServer = self.server
        server.requests.append((self.command, self.path, dict(self.headers)))
        parts = urllib.parse.urlsplit(self.path)
        route, _, name = parts.path.strip("/").partition("/")
        if route == "redirect":
            hops, _, name = name.partition("/")
            hops = int(hops)
            target = (f"/redirect/{hops - 1}/{name}" if hops > 1
                      else f"/images/{name}")
            return self._redirect(target)
        if route == "loop":
            return self._redirect("/loop/")
        if route == "to":
            return self._redirect(urllib.parse.parse_qs(parts.query)["url"][0])
        if route == "hang":
            server.release.wait(30)
            return self._reply(503, b"")
        if route == "nohead" and self.command == "HEAD":
            return self._reply(405, b"", body)
        data = server.images.get(name)
        if data is None:
            return self._reply(404, b"no such image\n", body)
        if route == "truncated":
            self.send_response(200)
            self.send_header("Content-Length", str(len(data) + 100))
            self.end_headers()
            if body:
                self.wfile.write(data)
            self.close_connection = True
            return None
        wanted = self.headers.get("Range")
        if wanted and route != "norange":
            return self._serve_range(data, wanted, body)
        return self._reply(200, data, body)

    def _serve_range(self, data: bytes, wanted: str, body: bool) -> None:
        first, last = _RANGE.fullmatch(wanted).groups()
        first = int(first or 0)
        last = min(int(last) if last else len(data) - 1, len(data) - 1)
        if first >= len(data):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        part = data[first:last + 1]
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
        self.send_header("Content-Length", str(len(part)))
        self.end_headers()
        if body:
            self.wfile.write(part)

    def _redirect(self, target: str) -> None:
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _reply(self, status: int, data: bytes, body: bool = True) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)



@contextmanager
def serving(tls_context=None):
    """Run an ImageServer in a thread for the duration of the block
    (speaking https when given an ``ssl.SSLContext``)."""
    server = ImageServer()
    if tls_context is not None:
        server.socket = tls_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,),
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join()
