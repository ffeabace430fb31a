"""Image data over HTTP, with clients that cost as little CPU as Python allows."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
import urllib.parse

MIB = 1024 * 1024
BLOCK = memoryview(os.urandom(4 * MIB))
V1_DATA = "/v1/images/%s"
V2_FILE = "/v2/images/%s/file"


def _connect(url: str) -> http.client.HTTPConnection:
    parts = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)


def upload(url: str, size: int, chunked: bool) -> tuple[float, dict]:
    """Create an image of ``size`` bytes; returns (seconds, image record)."""
    headers = {"x-image-meta-name": "bench-%d" % size, "x-image-meta-disk_format": "raw",
               "x-image-meta-container_format": "bare", "x-image-meta-size": str(size)}
    elapsed, status, body = _send(url, "POST", "/v1/images", headers, size, chunked)
    if status != 201:
        raise RuntimeError("upload failed: %d %s" % (status, body[:300]))
    return elapsed, json.loads(body)["image"]


def create_v2(url: str, size: int) -> str:
    """A queued v2 image for ``upload_v2`` (``POST /v2/images``, not timed); its id."""
    conn = _connect(url)
    conn.request("POST", "/v2/images", body=json.dumps(
        {"name": "bench-v2-%d" % size, "disk_format": "raw", "container_format": "bare"}),
        headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    if resp.status != 201:
        raise RuntimeError("v2 create failed: %d %s" % (resp.status, body[:300]))
    return json.loads(body)["id"]


def upload_v2(url: str, image_id: str, size: int, chunked: bool) -> float:
    """``PUT /v2/images/{id}/file`` of ``size`` bytes (204); returns seconds.
    Both real clients say the size (glanceclient chunked, openstacksdk with
    Content-Length), so this does too."""
    elapsed, status, body = _send(url, "PUT", V2_FILE % image_id,
                                  {"x-openstack-image-size": str(size)}, size, chunked)
    if status != 204:
        raise RuntimeError("v2 upload failed: %d %s" % (status, body[:300]))
    return elapsed


def _send(url: str, method: str, path: str, headers: dict, size: int,
          chunked: bool) -> tuple[float, int, bytes]:
    """Send ``size`` bytes of data as the body; (seconds, status, response body)."""
    conn = _connect(url)
    conn.putrequest(method, path)
    headers = dict(headers, **{"Content-Type": "application/octet-stream"})
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
    else:
        headers["Content-Length"] = str(size)
    for name, value in headers.items():
        conn.putheader(name, value)
    start = time.perf_counter()
    conn.endheaders()
    try:
        _send_body(conn.sock, size, chunked)
    except (BrokenPipeError, ConnectionResetError) as exc:
        # The service answered before the body ended: say what it said.
        try:
            resp = conn.getresponse()
            said = "%d %s" % (resp.status, resp.read()[:300])
        except (OSError, http.client.HTTPException):
            said = "no answer"
        raise RuntimeError("upload cut off (%s): %s" % (exc, said)) from exc
    resp = conn.getresponse()
    body = resp.read()
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed, resp.status, body


def _send_body(sock, size: int, chunked: bool) -> None:
    left = size
    while left:
        block = BLOCK[:min(left, len(BLOCK))]
        if chunked:
            sock.sendall(b"%x\r\n" % len(block))
            sock.sendall(block)
            sock.sendall(b"\r\n")
        else:
            sock.sendall(block)
        left -= len(block)
    if chunked:
        sock.sendall(b"0\r\n\r\n")


def download(url: str, image_id: str, progress: list | None = None,
             path: str = V1_DATA) -> tuple[float, int]:
    """Fetch an image's data and drop it; returns (seconds, bytes).
    ``path`` is v1's by default; ``V2_FILE`` fetches through v2."""
    conn = _connect(url)
    start = time.perf_counter()
    conn.request("GET", path % image_id)
    resp = conn.getresponse()
    if resp.status != 200:
        raise RuntimeError("download failed: %d %s" % (resp.status, resp.read()[:300]))
    buf = bytearray(4 * MIB)
    got = 0
    while True:
        n = resp.readinto(buf)
        if not n:
            break
        got += n
        if progress is not None:
            progress[0] = got
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed, got


def concurrent_downloads(url: str, image_id: str, size: int, clients: int = 8) -> dict:
    """``clients`` downloads of one image at once: the aggregate rate, and how
    evenly they moved (slowest over mean progress when half the bytes were sent)."""
    progress = [[0] for _ in range(clients)]
    threads = [threading.Thread(target=download, args=(url, image_id, progress[i]))
               for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    balance = None
    while any(t.is_alive() for t in threads):
        done = [p[0] for p in progress]
        if balance is None and sum(done) >= clients * size / 2:
            balance = min(done) / (sum(done) / clients)
        time.sleep(0.005)
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return {"seconds": elapsed, "bytes": sum(p[0] for p in progress),
            "balance": balance if balance is not None else 1.0}
