"""Peak memory of an upload and a download through the file driver, by size.

Each size runs in its own subprocess so peaks do not mix. The upload source
is generated in memory (copies of one 1 MiB random block), not read from a
file, so only the store's own buffering shows. Expect the peak RSS to be
the same, within a few MiB, for 1 MiB and for 4 GiB.

    python bench/store_memory.py [--sizes 1M,1G,4G] [--datadir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNITS = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}
BLOCK = os.urandom(1024 * 1024)


class GeneratedSource:
    """A wsgi.input-like stream of ``size`` bytes made from one block."""

    def __init__(self, size: int) -> None:
        self.remaining = size

    def read(self, n: int = -1) -> bytes:
        n = min(n if n >= 0 else len(BLOCK), len(BLOCK), self.remaining)
        self.remaining -= n
        # A fresh object per read, as a socket gives, so chunks held by the
        # hash queues count in the peak.
        return bytes(memoryview(BLOCK)[:n])


def peak_rss_kib() -> int:
    """Peak resident set size of this process so far (VmHWM), in KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(size: int, datadir: str) -> dict:
    """Upload then download ``size`` bytes; report peaks and speeds."""
    from glance_store import Stores
    from glance_store.drivers.filesystem import FilesystemDriver

    stores = Stores({"file": FilesystemDriver([(datadir, 0)])},
                    default_store="file")
    baseline = peak_rss_kib()
    start = time.perf_counter()
    result = stores.add("bench-image", GeneratedSource(size), size=size)
    upload_s = time.perf_counter() - start
    after_upload = peak_rss_kib()
    start = time.perf_counter()
    with stores.get(result.location) as data:
        received = sum(len(chunk) for chunk in data)
    download_s = time.perf_counter() - start
    after_download = peak_rss_kib()
    stores.delete(result.location)
    assert received == size == result.size
    return {"size": size, "baseline_kib": baseline,
            "upload_peak_kib": after_upload,
            "download_peak_kib": after_download,
            "upload_mib_s": size / 2 ** 20 / upload_s,
            "download_mib_s": size / 2 ** 20 / download_s}


def parse_size(text: str) -> int:
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    if text[-1:] in UNITS:
        return int(float(text[:-1]) * UNITS[text[-1]])
    return int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1M,1G,4G")
    parser.add_argument("--datadir", help="where to write (default: a "
                                          "temporary directory)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(int(args.child), args.datadir)))
        return
    datadir = args.datadir or tempfile.mkdtemp(prefix="store-memory-")
    try:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            filter(None, [REPO, os.environ.get("PYTHONPATH")])))
        rows = []
        for size in map(parse_size, args.sizes.split(",")):
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(size),
                 "--datadir", datadir],
                check=True, stdout=subprocess.PIPE, text=True, env=env).stdout
            rows.append(json.loads(out))
    finally:
        if not args.datadir:
            shutil.rmtree(datadir)
    print(f"{'size':>12} {'baseline':>10} {'upload peak':>12} "
          f"{'download peak':>14} {'growth':>8} {'up MiB/s':>9} "
          f"{'down MiB/s':>10}")
    first = rows[0]
    for row in rows:
        growth = row["download_peak_kib"] - first["download_peak_kib"]
        print(f"{row['size']:>12} {row['baseline_kib'] / 1024:>8.1f}Mi "
              f"{row['upload_peak_kib'] / 1024:>10.1f}Mi "
              f"{row['download_peak_kib'] / 1024:>12.1f}Mi "
              f"{growth / 1024:>+6.1f}Mi {row['upload_mib_s']:>9.0f} "
              f"{row['download_mib_s']:>10.0f}")
    print("growth: peak RSS minus the first size's peak "
          "(flat memory means about 0)")


if __name__ == "__main__":
    main()
