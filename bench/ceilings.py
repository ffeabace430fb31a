"""What this machine can do at best, measured in the same run as the service."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
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
