"""The image cache figures: a Swift-backed image downloaded uncached, then
cached, and 8 concurrent first downloads of one uncached image.

Runs its own glance-registry and glance-api (the api with image_cache_dir
set) in front of the real Swift all-in-one the tests use (tests/swift.py),
so the store is a remote one as in production. Store reads are counted
from the api's log: each fill logs the bytes it read from the store, and
each reader that has to fall back to the store logs that too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import transfers

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests import daemons  # noqa: E402
from tests import swift  # noqa: E402

MIB = 1024 * 1024
_FILLED = re.compile(r"Cached image (\S+): (\d+) bytes read from the store")
_FALLBACK = re.compile(r"Reading image (\S+) from the store from byte (\d+)")


class CachedService:
    """A registry and a cache-enabled api over Swift, on a throwaway directory."""

    def __init__(self, cluster: swift.SwiftCluster, max_size: int):
        self.base = tempfile.mkdtemp(prefix="glance-bench-cache-")
        base = Path(self.base)
        (base / "registry").mkdir()
        url = "sqlite:///%s/glance.sqlite" % self.base
        conf = daemons.write_config(base / "manage.conf", {"database": {"connection": url}})
        subprocess.run([sys.executable, "-m", "glance_registry.manage", "--config-file",
                        str(conf), "db", "sync"], check=True, cwd=REPO,
                       stdout=subprocess.DEVNULL)
        self.registry = daemons.start_registry(base / "registry", url, workers=2)
        port = daemons.free_port()
        config = daemons.write_config(base / "glance-api.conf", {
            "DEFAULT": {"bind_host": "127.0.0.1", "bind_port": port,
                        "registry_host": "127.0.0.1", "registry_port": self.registry.port,
                        "image_size_cap": 8 * 1024 * MIB,
                        "image_cache_dir": str(base / "image-cache"),
                        "image_cache_max_size": max_size,
                        "cache_prefetcher_interval": 0},
            "glance_store": {
                "stores": "swift", "default_store": "swift",
                "swift_store_auth_address": cluster.auth_url,
                "swift_store_auth_version": "1", "swift_store_user": cluster.user,
                "swift_store_key": cluster.key, "swift_store_container": "bench",
                "swift_store_create_container_on_put": "true",
                "swift_store_large_object_size": "1",
                "swift_store_large_object_chunk_size": str(swift.MAX_FILE_SIZE // MIB)}})
        cmd = [sys.executable, "-m", "glance_api.cmd", "--config-file", str(config)]
        self.api = daemons.start("glance-api", cmd, config, port, base / "glance-api.log")
        self.url = self.api.url

    def store_reads(self, image_id: str, size: int) -> tuple[int, int]:
        """(reads, bytes) the api took from the store for ``image_id``."""
        reads = read = 0
        for line in self.api.log_text().splitlines():
            filled = _FILLED.search(line)
            if filled and filled.group(1) == image_id:
                reads, read = reads + 1, read + int(filled.group(2))
            fallback = _FALLBACK.search(line)
            if fallback and fallback.group(1) == image_id:
                reads, read = reads + 1, read + size - int(fallback.group(2))
        return reads, read

    def wait_cached(self, image_id: str, timeout: float = 600) -> None:
        """Until the fill of ``image_id`` has logged its end."""
        deadline = time.monotonic() + timeout
        while "Cached image %s" % image_id not in self.api.log_text():
            if time.monotonic() > deadline:
                raise RuntimeError("image %s was never cached" % image_id)
            time.sleep(0.05)

    def stop(self) -> None:
        self.api.stop()
        self.registry.stop()
        shutil.rmtree(self.base, ignore_errors=True)


def cache_path(t, size: int, label: str, loop: float) -> None:
    """Add the cache's rows to table ``t``; ``loop`` is the loopback ceiling."""
    cluster = swift.start_cluster()
    svc = CachedService(cluster, max_size=4 * size)
    try:
        _, image = transfers.upload(svc.url, size, False)
        seconds, got = transfers.download(svc.url, image["id"], path=transfers.V2_FILE)
        assert got == size
        t.add("v2 download %s from Swift, uncached (fills the cache)" % label,
              size / MIB / seconds, "MiB/s", loop)
        svc.wait_cached(image["id"])
        seconds, got = transfers.download(svc.url, image["id"], path=transfers.V2_FILE)
        assert got == size
        t.add("v2 download %s, cached" % label, size / MIB / seconds, "MiB/s", loop,
              target=">= 50 % of loopback")
        reads, _ = svc.store_reads(image["id"], size)
        t.add("  store reads for both", reads, "", target="1")

        _, image = transfers.upload(svc.url, size, False)
        result = transfers.concurrent_downloads(svc.url, image["id"], size)
        if result["bytes"] != 8 * size:
            raise RuntimeError("8 first downloads got %d bytes" % result["bytes"])
        t.add("8 concurrent first downloads of one uncached %s, aggregate" % label,
              result["bytes"] / MIB / result["seconds"], "MiB/s")
        svc.wait_cached(image["id"])
        reads, read = svc.store_reads(image["id"], size)
        t.add("  store reads for the 8", reads, "", target="exactly 1")
        t.add("  store bytes read for the 8", read / MIB, "MiB", target="%d MiB" % (size // MIB))
    finally:
        svc.stop()
        cluster.stop()
