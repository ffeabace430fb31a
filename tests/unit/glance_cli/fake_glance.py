"""A small image service on 127.0.0.1 that answers what a test tells it to and
records every request, chunked bodies decoded chunk by chunk.

Routes are (METHOD, path without query) -> a queue of canned answers; the
last answer of a queue repeats. Anything else is a 404 with a JSON body.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import threading
from urllib.parse import parse_qsl
from urllib.parse import unquote
from urllib.parse import urlsplit


@dataclasses.dataclass
class Recorded:
    """One request as the server read it."""

    method: str
    path: str  # percent-decoded, without the query
    raw_path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    chunks: list[int] | None  # sizes of the HTTP chunks, for chunked bodies

    def json(self):
        return json.loads(self.body)


@dataclasses.dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]


class FakeGlance(http.server.ThreadingHTTPServer):
    """The server; ``url``, ``reply()``, ``requests``."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[tuple[str, str], list[Answer]] = {}
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.server_address[1]

    def reply(self, method: str, path: str, status: int = 200, json_body=None,
              body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        """Queue an answer to ``METHOD path``."""
        headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers.setdefault("Content-Type", "application/json")
        self.routes.setdefault((method, path), []).append(Answer(status, body, headers))

    def versions(self, *ids: str) -> None:
        """Answer ``GET /versions`` with these version ids."""
        self.reply("GET", "/versions", json_body={"versions": [
            {"id": vid, "status": "SUPPORTED", "links": []} for vid in ids]})

    def sent(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        """The recorded requests, optionally only those of one method and path."""
        return [r for r in self.requests
                if (method is None or r.method == method) and (path is None or r.path == path)]

    def answer(self, method: str, path: str) -> Answer:
        with self.lock:
            queue = self.routes.get((method, path))
            if not queue:
                return Answer(404, json.dumps({"message": "No route %s %s" % (method, path),
                                               "code": 404, "title": "Not Found"}).encode(),
                              {"Content-Type": "application/json"})
            return queue.pop(0) if len(queue) > 1 else queue[0]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _handle(self) -> None:
        server: FakeGlance = self.server
        body, chunks = self._body()
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        server.requests.append(Recorded(self.command, path, parts.path,
                                        parse_qsl(parts.query, keep_blank_values=True),
                                        dict(self.headers), body, chunks))
        answer = server.answer(self.command, path)
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    def _body(self) -> tuple[bytes, list[int] | None]:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data, sizes = [], []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(data), sizes
                data.append(self.rfile.read(size))
                sizes.append(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length), None

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


def start() -> FakeGlance:
    """A running fake; call ``shutdown()`` and ``server_close()`` when done."""
    server = FakeGlance()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    return server
