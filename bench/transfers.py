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


def _connect(url: str) -> http.client.HTTPConnection:
    parts = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)


def upload(url: str, size: int, chunked: bool) -> tuple[float, dict]:
    """Create an image of ``size`` bytes; returns (seconds, image record)."""
    conn = _connect(url)
    conn.putrequest("POST", "/v1/images")
    headers = {"x-image-meta-name": "bench-%d" % size, "x-image-meta-disk_format": "raw",
               "x-image-meta-container_format": "bare", "x-image-meta-size": str(size),
               "Content-Type": "application/octet-stream"}
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
    if resp.status != 201:
        raise RuntimeError("upload failed: %d %s" % (resp.status, body[:300]))
    return elapsed, json.loads(body)["image"]


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


def download(url: str, image_id: str, progress: list | None = None) -> tuple[float, int]:
    """Fetch an image's data and drop it; returns (seconds, bytes)."""
    conn = _connect(url)
    start = time.perf_counter()
    conn.request("GET", "/v1/images/" + image_id)
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
