"""What this machine can do at best, measured in the same run as the service."""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

MIB = 1024 * 1024


def hash_rate(name: str, total: int = 512 * MIB) -> float:
    """MiB/s of one hashlib algorithm on one core, over 4 MiB blocks."""
    block = os.urandom(4 * MIB)
    h = hashlib.new(name)
    start = time.perf_counter()
    for _ in range(total // len(block)):
        h.update(block)
    return total / MIB / (time.perf_counter() - start)


def disk_write_rate(directory: str, total_mib: int = 2048) -> float:
    """MiB/s of ``dd ... conv=fdatasync`` into ``directory``."""
    path = os.path.join(directory, "dd-ceiling")
    try:
        start = time.perf_counter()
        subprocess.run(["dd", "if=/dev/zero", "of=" + path, "bs=1M",
                        "count=%d" % total_mib, "conv=fdatasync"],
                       check=True, capture_output=True)
        return total_mib / (time.perf_counter() - start)
    finally:
        os.unlink(path)


def loopback_rate(total: int = 4096 * MIB) -> float:
    """MiB/s one TCP connection carries over loopback (Python at both ends)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    received = [0]

    def sink():
        conn, _ = server.accept()
        buf = bytearray(4 * MIB)
        while True:
            n = conn.recv_into(buf)
            if not n:
                break
            received[0] += n
        conn.close()

    thread = threading.Thread(target=sink)
    thread.start()
    client = socket.create_connection(server.getsockname())
    block = memoryview(bytearray(4 * MIB))
    start = time.perf_counter()
    for _ in range(total // len(block)):
        client.sendall(block)
    client.close()
    thread.join()
    server.close()
    return received[0] / MIB / (time.perf_counter() - start)


def http_hop_ms(repeat: int = 2000) -> float:
    """p50 ms of one kept-alive request through gunicorn's threaded worker
    (as both daemons run) to a WSGI app that does nothing: the least one
    HTTP hop costs on this machine. A HEAD through the api pays two."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "8",
         "-w", "1", "--keep-alive", "900", "-b", "127.0.0.1:%d" % port,
         "bare_app:app"],
        cwd=os.path.dirname(os.path.abspath(__file__)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the bare gunicorn app did not start") from None
                time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", port)
        times = []
        for _ in range(repeat + 100):
            start = time.perf_counter()
            conn.request("GET", "/")
            conn.getresponse().read()
            times.append((time.perf_counter() - start) * 1000)
        conn.close()
        return statistics.median(times[100:])
    finally:
        server.terminate()
        server.wait()
