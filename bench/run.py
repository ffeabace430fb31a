"""The benchmark: the service on a throwaway data directory, measured against
this machine's own ceilings in the same run.

    python bench/run.py                 # SQLite, full (4 GiB images, 100k images)
    python bench/run.py --db postgresql
    python bench/run.py --smoke         # seconds: keeps the benchmark working in CI

Images API v1 and v2 are measured side by side on the same service, images
and ceilings (v2 rows start with "v2 ").

Prints one table: each figure, the ceiling it is measured against, the ratio,
and the target it should meet.
"""

from __future__ import annotations

import argparse
import functools
import os
import secrets
import sys
import time

sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cache  # noqa: E402
import ceilings  # noqa: E402
import client  # noqa: E402
import metadata  # noqa: E402
import procstat  # noqa: E402
import transfers  # noqa: E402
from service import Service  # noqa: E402
from service import wait_idle  # noqa: E402

MIB, GIB = 1024 * 1024, 1024 ** 3
UNITS = {"M": MIB, "G": GIB}


class Table:
    def __init__(self):
        self.rows = []

    def add(self, what, value, unit, ceiling=None, target=None):
        ratio = value / ceiling if ceiling else None
        self.rows.append((what, value, unit, ceiling, ratio, target or ""))
        print("  %-52s %10.1f %-7s" % (what, value, unit), flush=True)

    def render(self) -> str:
        lines = ["| measure | value | ceiling | ratio | target |", "|---|---:|---:|---:|---|"]
        for what, value, unit, ceiling, ratio, target in self.rows:
            lines.append("| %s | %.1f %s | %s | %s | %s |" % (
                what, value, unit, _figure(ceiling) if ceiling else "",
                "%.0f %%" % (ratio * 100) if ratio is not None else "", target))
        return "\n".join(lines)


def _figure(number: float) -> str:
    return "%.1f" % number if number < 100 else "%.0f" % number


def parse_size(text: str) -> int:
    return int(float(text[:-1]) * UNITS[text[-1].upper()]) if text[-1] in "MGmg" else int(text)


def _pss(groups: dict) -> float:
    return sum(procstat.pss_mib(pids) for pids in groups.values())


def _transfer(t: Table, svc: Service, groups: dict, api: str, size: int, label: str,
              chunked: bool, disk: float, loop: float) -> None:
    """One upload through ``api`` (v1: POST with the data; v2: POST /v2/images,
    not timed, then PUT /file) and the download of what it stored, with the
    api's CPU and the daemons' peak PSS during each; then the image goes."""
    mode = "chunked" if chunked else "Content-Length"
    prefix = "" if api == "v1" else "v2 "
    image_id = None if api == "v1" else transfers.create_v2(svc.url, size)
    before = {n: procstat.cpu_seconds(p) for n, p in groups.items()}
    base = _pss(groups)
    with procstat.PeakSampler(groups) as peak:
        if api == "v1":
            seconds, image = transfers.upload(svc.url, size, chunked)
            image_id = image["id"]
        else:
            seconds = transfers.upload_v2(svc.url, image_id, size, chunked)
    cpu = {n: procstat.cpu_seconds(p) - before[n] for n, p in groups.items()}
    t.add("%supload %s, %s" % (prefix, label, mode), size / MIB / seconds, "MiB/s", disk,
          ">= 85 % of disk" if size >= GIB else "")
    t.add("  api CPU per GiB uploaded", cpu["api"] / (size / GIB), "s")
    t.add("  peak PSS during upload, above just before",
          sum(peak.peaks.values()) - base, "MiB", target="<= 5 MiB")
    if api == "v2":
        _check_active_v2(svc.url, image_id, size)
    before = {n: procstat.cpu_seconds(p) for n, p in groups.items()}
    base = _pss(groups)
    with procstat.PeakSampler(groups) as peak:
        seconds, got = transfers.download(
            svc.url, image_id, path=transfers.V1_DATA if api == "v1" else transfers.V2_FILE)
    assert got == size, (got, size)
    cpu = {n: procstat.cpu_seconds(p) - before[n] for n, p in groups.items()}
    t.add("%sdownload %s (%s upload)" % (prefix, label, mode), size / MIB / seconds, "MiB/s",
          loop, ">= 50 % of loopback")
    t.add("  api CPU per GiB downloaded", cpu["api"] / (size / GIB), "s",
          target="< 0.5 s")
    t.add("  peak PSS during download, above just before",
          sum(peak.peaks.values()) - base, "MiB", target="<= 5 MiB")
    if api == "v1":
        client.Client(svc.url).delete("/v1/images/" + image_id)
    else:
        _delete_v2(svc.url, image_id)


def _check_active_v2(url: str, image_id: str, size: int) -> None:
    """After a v2 upload's 204 the image is active with its size (spec v2 5.1)."""
    image = client.Client(url).get("/v2/images/" + image_id).json()
    if image.get("status") != "active" or image.get("size") != size:
        raise RuntimeError("v2 upload left %s %s, size %s"
                           % (image_id, image.get("status"), image.get("size")))


def _delete_v2(url: str, image_id: str) -> None:
    resp = client.Client(url).delete("/v2/images/" + image_id)
    if resp.status_code != 204:
        raise RuntimeError("DELETE /v2/images/%s -> %d" % (image_id, resp.status_code))


def data_path(t: Table, svc: Service, sizes: list[int], smoke: bool) -> None:
    md5, sha = ceilings.hash_rate("md5"), ceilings.hash_rate("sha512")
    t.add("ceiling: md5 on one core", md5, "MiB/s")
    t.add("ceiling: sha512 on one core", sha, "MiB/s")
    disk = ceilings.disk_write_rate(svc.images_dir, 256 if smoke else 2048)
    t.add("ceiling: dd conv=fdatasync write", disk, "MiB/s")
    loop = ceilings.loopback_rate((512 if smoke else 4096) * MIB)
    t.add("ceiling: loopback TCP, one connection", loop, "MiB/s")

    groups = svc.daemons()
    wait_idle(1.0)
    idle = {name: procstat.pss_mib(pids) for name, pids in groups.items()}
    for name, value in idle.items():
        t.add("idle PSS, glance-%s (all processes)" % name, value, "MiB")
    t.add("idle PSS, both daemons", sum(idle.values()), "MiB", target="< 250 MiB")

    for size in sizes:
        label = "%d MiB" % (size // MIB) if size < GIB else "%d GiB" % (size // GIB)
        for chunked in (False, True):
            for api in ("v1", "v2"):
                _transfer(t, svc, groups, api, size, label, chunked, disk, loop)
    t.add("PSS of both daemons after the transfers", _pss(groups), "MiB")

    size = 16 * MIB if smoke else GIB
    _, image = transfers.upload(svc.url, size, False)
    result = transfers.concurrent_downloads(svc.url, image["id"], size)
    t.add("8 concurrent downloads of one image, aggregate",
          result["bytes"] / MIB / result["seconds"], "MiB/s", target=">= 1024 MiB/s")
    t.add("  slowest / mean progress at half-way", result["balance"] * 100, "%",
          target="all move at once")
    client.Client(svc.url).delete("/v1/images/" + image["id"])


def metadata_path(t: Table, svc: Service, counts: list[int], smoke: bool,
                  api_creates: int, v2_creates: int) -> None:
    hop = ceilings.http_hop_ms(300 if smoke else 2000)
    t.add("ceiling: one HTTP hop to a bare app under gunicorn, p50", hop, "ms")
    batch, ids, made_v2 = metadata.new_batch(), [], 0
    repeat = 50 if smoke else 200
    for count in counts:
        through_api = min(count - len(ids), max(api_creates - len(ids), 0))
        if through_api:
            groups = svc.daemons()
            before = {n: procstat.cpu_seconds(p) for n, p in groups.items()}
            rate, new, errors = metadata.create_images(svc.url, through_api, batch)
            ids += new
            t.add("create, 8 clients (%d images through the api)" % through_api, rate,
                  "img/s", target=">= 300/s")
            # Two cores for client, api and registry: the rate is about
            # 2 / (CPU per create of all three).
            for name in ("api", "registry"):
                t.add("  CPU per create, glance-%s" % name,
                      (procstat.cpu_seconds(groups[name]) - before[name]) * 1000
                      / through_api, "ms")
            if errors:
                t.add("  create errors", errors, "")
        through_v2 = min(count - len(ids), max(v2_creates - made_v2, 0))
        if through_v2:
            # The same images again (numbered on), through POST /v2/images.
            rate, new, errors = metadata.create_images_v2(svc.url, len(ids), through_v2, batch)
            ids += new
            made_v2 += through_v2
            t.add("v2 create, 8 clients, JSON (%d images through the api)" % through_v2,
                  rate, "img/s")
            if errors:
                t.add("  v2 create errors", errors, "")
        if count > len(ids):
            # The rest go straight into the database: same rows, less waiting.
            ids += metadata.bulk_insert(svc.connection, len(ids), count - len(ids), batch)
        metadata.refresh_statistics(svc.connection)
        for name, lat in metadata.measure_reads(svc.url, ids, batch, repeat).items():
            target = {"first page": "p50 < 8 ms", "HEAD one image": "p50 <= 3 ms"}.get(name)
            # Every read crosses two HTTP hops (client-api, api-registry).
            t.add("%s at %d images, p50" % (name, count), lat["p50"], "ms",
                  2 * hop, target=target)
            t.add("%s at %d images, p95" % (name, count), lat["p95"], "ms")
        # Where a single-image read's time goes: each daemon's CPU per call.
        head = functools.partial(client.Client(svc.url).head,
                                 "/v1/images/" + ids[len(ids) // 3])
        cpu = metadata.cpu_per_call(svc.daemons(), head, 500 if smoke else 3000)
        for name in ("api", "registry"):
            t.add("  HEAD one image: CPU per call, glance-%s" % name, cpu[name], "ms")
        for name, lat in metadata.measure_reads_v2(svc.url, ids, batch, repeat).items():
            target = {"first page": "p50 <= 8 ms", "show one image": "p50 <= 3 ms"}.get(name)
            # The same two hops: v2 reads go through the registry as v1's do.
            t.add("v2 %s at %d images, p50" % (name, count), lat["p50"], "ms",
                  2 * hop, target=target)
            t.add("v2 %s at %d images, p95" % (name, count), lat["p95"], "ms")
        result = metadata.concurrent_lists(svc.url, 32, 3.0 if smoke else 10.0)
        t.add("32 concurrent list clients at %d images" % count, result["rps"], "req/s",
              target=">= 400, no errors")
        t.add("  list errors", result["errors"], "")
    victims = ids[: min(len(ids), 100 if smoke else 2000)]
    result = metadata.delete_images(svc.url, victims)
    t.add("delete, 8 concurrent clients", result["rate"], "img/s")
    t.add("  delete errors", sum(result["errors"].values()), "", target="0")


def _postgres_url() -> tuple[str, callable]:
    import psycopg2
    name = "glance_bench_%s" % secrets.token_hex(4)
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute('CREATE DATABASE "%s"' % name)

    def drop():
        cur = admin.cursor()
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (name,))
        cur.execute('DROP DATABASE IF EXISTS "%s"' % name)
        admin.close()

    return "postgresql://postgres@127.0.0.1:5432/%s" % name, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--sizes", help="image sizes (default 256M,1G,4G)")
    parser.add_argument("--images", help="image counts (default 10000,100000)")
    parser.add_argument("--api-creates", type=int,
                        help="images created through the v1 api (default 10000)")
    parser.add_argument("--api-creates-v2", type=int,
                        help="images then created through the v2 api (default 2000; "
                             "the rest of each count is inserted into the database)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes and counts: proves the benchmark runs")
    parser.add_argument("--skip-data", action="store_true")
    parser.add_argument("--skip-metadata", action="store_true")
    parser.add_argument("--skip-cache", action="store_true",
                        help="leave out the image cache figures (they start Swift)")
    parser.add_argument("--cache-size", help="image size for the cache figures "
                        "(default 1G)")
    args = parser.parse_args()
    args.sizes = args.sizes or ("16M" if args.smoke else "256M,1G,4G")
    args.images = args.images or ("200" if args.smoke else "10000,100000")
    if args.api_creates is None:
        args.api_creates = 80 if args.smoke else 10000
    if args.api_creates_v2 is None:
        args.api_creates_v2 = 80 if args.smoke else 2000
    connection, cleanup = (None, lambda: None)
    if args.db == "postgresql":
        connection, cleanup = _postgres_url()
    t = Table()
    started = time.time()
    svc = Service(connection)
    try:
        print("glance bench: %s, %d CPUs, service at %s" % (args.db, os.cpu_count(), svc.url),
              flush=True)
        if not args.skip_data:
            data_path(t, svc, [parse_size(s) for s in args.sizes.split(",")], args.smoke)
        if not args.skip_metadata:
            metadata_path(t, svc, [int(c) for c in args.images.split(",")], args.smoke,
                          args.api_creates, args.api_creates_v2)
        if not args.skip_cache:
            size = parse_size(args.cache_size or ("16M" if args.smoke else "1G"))
            label = "%d MiB" % (size // MIB) if size < GIB else "%d GiB" % (size // GIB)
            loop = ceilings.loopback_rate((512 if args.smoke else 4096) * MIB)
            t.add("ceiling: loopback TCP, one connection", loop, "MiB/s")
            cache.cache_path(t, size, label, loop)
    finally:
        svc.stop()
        cleanup()
    print()
    print(t.render())
    print("\n(%s, %.0f s)" % (" ".join(sys.argv[1:]) or "defaults", time.time() - started))


if __name__ == "__main__":
    main()
