"""A lean HTTP client for the metadata benchmark.

Client and service share this machine's two cores, so every millisecond
the load generator spends is one the service does not get. ``requests``
costs several times what ``http.client`` does per call; a keep-alive
``http.client`` connection per thread keeps the client's share small, so
the figures measure the service.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse


class Response:
    """Status, headers and body of one call."""

    def __init__(self, status: int, headers, body: bytes):
        self.status_code = status
        self.headers = headers
        self.content = body

    def json(self):
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")


class Client:
    """One keep-alive connection to ``url``; not shared between threads."""

    def __init__(self, url: str):
        parts = urllib.parse.urlsplit(url)
        self._host, self._port = parts.hostname, parts.port
        self._conn = None

    def request(self, method: str, path: str, params: dict | None = None,
                headers: dict | None = None, body: bytes | None = None) -> Response:
        if params:
            path += "?" + urllib.parse.urlencode(params)
        headers = {"Accept": "application/json", **(headers or {})}
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self._host, self._port,
                                                        timeout=60)
            try:
                self._conn.request(method, path, body=body, headers=headers)
                resp = self._conn.getresponse()
                content = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError):
                # The server closed an idle keep-alive connection; a fresh
                # one is tried once, as a browser or requests would.
                self._conn.close()
                self._conn = None
                if attempt == 2:
                    raise
                continue
            if resp.will_close:
                self._conn.close()
                self._conn = None
            return Response(resp.status, resp.headers, content)
        raise AssertionError("unreachable")

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def head(self, path, **kw):
        return self.request("HEAD", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def post_json(self, path, document, **kw):
        """POST ``document`` as JSON (the v2 API's create)."""
        headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
        return self.request("POST", path, headers=headers,
                            body=json.dumps(document).encode(), **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def close(self):
        if self._conn is not None:
            self._conn.close()


_local = threading.local()


def for_thread(url: str) -> Client:
    """This thread's client of ``url``."""
    clients = _local.__dict__.setdefault("clients", {})
    if url not in clients:
        clients[url] = Client(url)
    return clients[url]
