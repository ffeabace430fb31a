"""The metadata path: creating, listing and deleting many images.

Run as a script, it compares two source trees side by side (the method of
doc/metadata-hop.rst): both services run at once and are measured in
alternating rounds, one keep-alive connection each, so a noisy machine
slows both alike::

    .venv/bin/python bench/metadata.py /tmp/before /work/main --images 20000
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import client
import procstat


def create_images(url: str, count: int, batch: str,
                  clients: int = 8) -> tuple[float, list[str], int]:
    """Reserve ``count`` images with ``clients`` threads; returns (rate/s, ids, errors)."""
    ids, errors = [None] * count, [0]

    def one(i):
        resp = client.for_thread(url).post("/v1/images", headers={
            "x-image-meta-name": "img-%s-%07d" % (batch, i),
            "x-image-meta-disk_format": "raw", "x-image-meta-container_format": "bare",
            "x-image-meta-property-batch": batch,
            "x-image-meta-property-group": "g%d" % (i % 1000)})
        if resp.status_code == 201:
            ids[i] = resp.json()["image"]["id"]
        else:
            errors[0] += 1

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(count)))
    rate = count / (time.perf_counter() - start)
    return rate, [i for i in ids if i], errors[0]


def create_images_v2(url: str, start: int, count: int, batch: str,
                     clients: int = 8) -> tuple[float, list[str], int]:
    """The same images as ``create_images`` (numbered from ``start``), through
    ``POST /v2/images`` with a JSON body; returns (rate/s, ids, errors)."""
    ids, errors = [None] * count, [0]

    def one(i):
        resp = client.for_thread(url).post_json("/v2/images", {
            "name": "img-%s-%07d" % (batch, start + i),
            "disk_format": "raw", "container_format": "bare",
            "batch": batch, "group": "g%d" % ((start + i) % 1000)})
        if resp.status_code == 201:
            ids[i] = resp.json()["id"]
        else:
            errors[0] += 1

    begin = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(count)))
    rate = count / (time.perf_counter() - begin)
    return rate, [i for i in ids if i], errors[0]


def latencies(fn, repeat: int = 200) -> dict:
    """p50 and p95 in milliseconds of ``fn()`` run ``repeat`` times in a row."""
    fn()  # warm caches and connections
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"p50": statistics.median(times), "p95": times[int(len(times) * 0.95) - 1]}


def cpu_per_call(groups: dict[str, list[int]], call, repeat: int) -> dict[str, float]:
    """CPU milliseconds each daemon group spends per ``call()``, from /proc
    over ``repeat`` calls in a row (the clock ticks in 10 ms: keep
    ``repeat`` in the thousands)."""
    call()
    before = {name: procstat.cpu_seconds(pids) for name, pids in groups.items()}
    for _ in range(repeat):
        call()
    return {name: (procstat.cpu_seconds(pids) - before[name]) * 1000 / repeat
            for name, pids in groups.items()}


def checked_get(session, url, **kw):
    resp = session.get(url, **kw)
    if resp.status_code != 200:
        raise RuntimeError("GET %s -> %d %s" % (url, resp.status_code, resp.text[:200]))
    return resp


def concurrent_lists(url: str, clients: int = 32, seconds: float = 10.0) -> dict:
    """``clients`` threads listing the first page for ``seconds``: requests/s and errors."""
    counts, errors = [0] * clients, [0] * clients
    stop = time.perf_counter() + seconds

    def one(i):
        s = client.Client(url)
        while time.perf_counter() < stop:
            try:
                r = s.get("/v1/images/detail",
                          params={"limit": 20, "sort_key": "name", "sort_dir": "asc"})
                ok = r.status_code == 200
            except OSError:
                ok = False
            counts[i] += ok
            errors[i] += not ok

    start = time.perf_counter()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return {"rps": sum(counts) / elapsed, "errors": sum(errors)}


def delete_images(url: str, ids: list[str], clients: int = 8) -> dict:
    """Delete ``ids`` with ``clients`` threads: deletes/s and errors by status."""
    failures: dict[int, int] = {}

    def one(image_id):
        resp = client.for_thread(url).delete("/v1/images/" + image_id)
        if resp.status_code != 200:
            failures[resp.status_code] = failures.get(resp.status_code, 0) + 1

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, ids))
    return {"rate": len(ids) / (time.perf_counter() - start), "errors": failures}


def measure_reads(url: str, ids: list[str], batch: str, repeat: int = 200) -> dict:
    """Latencies of the reads a cloud makes most, at the current image count."""
    s = client.Client(url)
    detail = "/v1/images/detail"
    deep_marker = ids[len(ids) // 10]  # default order is newest first: this is deep
    return {
        "first page": latencies(lambda: checked_get(
            s, detail, params={"limit": 20, "sort_key": "name", "sort_dir": "asc"}), repeat),
        "deep marker page": latencies(lambda: checked_get(
            s, detail, params={"limit": 20, "marker": deep_marker}), repeat),
        "name filter": latencies(lambda: checked_get(
            s, detail, params={"name": "img-%s-%07d" % (batch, len(ids) // 2)}), repeat),
        "property filter": latencies(lambda: checked_get(
            s, detail, params={"property-group": "g7", "limit": 20}), repeat),
        "HEAD one image": latencies(lambda: s.head("/v1/images/" + ids[len(ids) // 3]), repeat),
    }


def v2_page(session, params: dict, at_least: int, full_page: bool = False,
            each=None) -> None:
    """One v2 list call, checked: 200, at least ``at_least`` images (exactly
    a full page with ``full_page``), a ``next`` link when the page is full,
    and ``each(image)`` true of every image when given."""
    resp = checked_get(session, "/v2/images", params=params)
    page = resp.json()
    images = page["images"]
    if len(images) < at_least or (full_page and len(images) != params["limit"]):
        raise RuntimeError("GET /v2/images %s -> %d images, expected %s%d"
                           % (params, len(images), "" if full_page else ">= ", at_least))
    if len(images) == params.get("limit", 25) and "next" not in page:
        raise RuntimeError("GET /v2/images %s -> a full page without a next link" % params)
    wrong = [image["id"] for image in images if each is not None and not each(image)]
    if wrong:
        raise RuntimeError("GET /v2/images %s -> images the filter should leave out: %s"
                           % (params, wrong[:3]))


def measure_reads_v2(url: str, ids: list[str], batch: str, repeat: int = 200) -> dict:
    """The v2 counterparts of ``measure_reads``: same page size, same order,
    same deep marker; each is checked once (status, images, ``next``) before
    it is timed, which also proves that images put straight into the
    database are in v2 lists."""
    s = client.Client(url)
    deep_marker = ids[len(ids) // 10]  # default order is newest first: this is deep
    # One name made through the api, and the last image in (inserted
    # straight into the database whenever any were).
    names = ["img-%s-%07d" % (batch, i) for i in (len(ids) // 2, len(ids) - 1)]
    reads = {
        "first page": ({"limit": 20, "sort_key": "name", "sort_dir": "asc"}, 20, True,
                       None),
        "deep marker page": ({"limit": 20, "marker": deep_marker}, 1, False, None),
        "property filter": ({"group": "g7", "limit": 20}, 1, False,
                            lambda image: image.get("group") == "g7"),
        "name=in: filter (2 names)": ({"name": "in:" + ",".join(names)}, 2, False,
                                      lambda image: image["name"] in names),
    }
    show = "/v2/images/" + ids[len(ids) // 3]
    if checked_get(s, show).json()["id"] != ids[len(ids) // 3]:
        raise RuntimeError("GET %s answered another image" % show)
    result = {"show one image": latencies(lambda: checked_get(s, show), repeat)}
    for name, (params, at_least, full, each) in reads.items():
        v2_page(s, params, at_least, full, each)
        result[name] = latencies(
            lambda params=params: checked_get(s, "/v2/images", params=params), repeat)
    return result


def new_batch() -> str:
    return uuid.uuid4().hex[:6]


def bulk_insert(connection: str, start: int, count: int, batch: str) -> list[str]:
    """Insert images straight into the registry's database (no API), as the
    ones create_images makes; used to reach large counts quickly."""
    import datetime

    from glance_registry import db
    from glance_registry.models import Image
    from glance_registry.models import ImageProperty

    database = db.make_database(connection)
    db.bind_database(database)
    ids = []
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    with database.connection_context():
        for first in range(start, start + count, 1000):
            rows, props = [], []
            for i in range(first, min(first + 1000, start + count)):
                image_id = str(uuid.uuid4())
                ids.append(image_id)
                stamp = now + datetime.timedelta(microseconds=i)
                rows.append({"id": image_id, "name": "img-%s-%07d" % (batch, i),
                             "disk_format": "raw", "container_format": "bare",
                             "status": "queued", "visibility": "shared",
                             # As both apis create them (v1 and v2 default):
                             # listed by v2 too (shared, owner's or admin's
                             # lists; hidden images are left out of v2 lists).
                             "os_hidden": False, "protected": False,
                             "created_at": stamp, "updated_at": stamp})
                props += [{"image": image_id, "name": "batch", "value": batch,
                           "created_at": stamp, "updated_at": stamp},
                          {"image": image_id, "name": "group", "value": "g%d" % (i % 1000),
                           "created_at": stamp, "updated_at": stamp}]
            with database.atomic():
                Image.insert_many(rows).execute()
                ImageProperty.insert_many(props).execute()
    db.close_all(database)
    return ids


def refresh_statistics(connection: str) -> None:
    """ANALYZE a PostgreSQL database after loading it, as autovacuum (on by
    default, off on some test machines) would do soon after; SQLite's
    indexes are shaped not to need statistics."""
    if not connection.startswith("postgres"):
        return
    from glance_registry import db
    from glance_registry import migrations

    database = db.make_database(connection)
    try:
        with database.connection_context():
            migrations.refresh_statistics(database)
    finally:
        db.close_all(database)


class Tree:
    """glance-all (noauth, SQLite) run from the source tree ``path``."""

    def __init__(self, path: str):
        from service import free_port

        self.path = path
        self.data = tempfile.mkdtemp(prefix="glance-ab-")
        port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "glance_api.all", "--data-dir", self.data,
             "--api-port", str(port), "--registry-port", str(free_port())],
            cwd=path, env=dict(os.environ, PYTHONPATH=path), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True)
        output = ""
        while "serving" not in output:
            line = self.proc.stdout.readline()
            if not line:
                self.stop()
                raise SystemExit("glance-all in %s failed to start:\n%s" % (path, output))
            output += line
        self.url = "http://127.0.0.1:%d" % port
        self.connection = "sqlite:///%s/glance.sqlite" % self.data

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by glance-api and glance-registry (all processes)."""
        found = {}
        for pid in procstat.children(self.proc.pid):
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                name = "registry" if b"glance_registry" in f.read() else "api"
            found[name] = procstat.cpu_seconds(procstat.tree(pid))
        return found

    def stop(self) -> None:
        # glance-all stops both daemons gracefully on SIGTERM.
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        shutil.rmtree(self.data, ignore_errors=True)


def _timed(fn, count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def side_by_side(paths: list[str], images: int, rounds: int, calls: int,
                 creates: int) -> dict:
    """p50 of v1 HEAD and v2 show (ms), create rate with 8 clients (median
    of rounds) and each daemon's CPU per call (us), for each tree."""
    trees = []
    try:
        for path in paths:
            trees.append(Tree(path))
        batch, ids = new_batch(), {}
        for tree in trees:
            _, made, errors = create_images(tree.url, 200, batch)
            if errors:
                raise RuntimeError("%d creates failed in %s" % (errors, tree.path))
            ids[tree.path] = made + bulk_insert(tree.connection, 200, images - 200, batch)
        times = {(t.path, kind): [] for t in trees for kind in ("head", "show", "create")}
        cpu = {}

        def measured(tree, kind, count, run):
            before = tree.cpu()
            result = run()
            for name, seconds in tree.cpu().items():
                cpu.setdefault((tree.path, kind, name), []).append(
                    (seconds - before[name]) * 1e6 / count)
            return result

        for r in range(rounds):
            for tree in trees if r % 2 == 0 else trees[::-1]:
                conn, image_id = client.Client(tree.url), ids[tree.path][images // 3]
                head, show = "/v1/images/" + image_id, "/v2/images/" + image_id
                for kind, call in (("head", lambda c=conn, p=head: c.head(p)),
                                   ("show", lambda c=conn, p=show: c.get(p))):
                    if call().status_code != 200:
                        raise RuntimeError("%s of %s failed in %s" % (kind, image_id, tree.path))
                    times[(tree.path, kind)] += measured(
                        tree, kind, calls, lambda call=call: _timed(call, calls))
                conn.close()
                if creates:
                    rate, _, errors = measured(tree, "create", creates, lambda tree=tree:
                                               create_images(tree.url, creates, batch))
                    times[(tree.path, "create")].append(rate)
    finally:
        for tree in trees:
            tree.stop()
    return {path: {"v1 HEAD p50 ms": statistics.median(times[(path, "head")]),
                   "v2 show p50 ms": statistics.median(times[(path, "show")]),
                   "create img/s": (statistics.median(times[(path, "create")])
                                    if creates else None),
                   "cpu us": {"%s %s" % (kind, name): statistics.median(values)
                              for (p, kind, name), values in cpu.items() if p == path}}
            for path in paths}


def main() -> None:
    parser = argparse.ArgumentParser(description="Two source trees side by side.")
    parser.add_argument("trees", nargs="+", help="source trees (e.g. before and after)")
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--calls", type=int, default=300, help="reads per round")
    parser.add_argument("--creates", type=int, default=400,
                        help="creates per round, 8 clients (0: none)")
    args = parser.parse_args()
    result = side_by_side(args.trees, args.images, args.rounds, args.calls, args.creates)
    for path, figures in result.items():
        print(path)
        for name, value in figures.items():
            if isinstance(value, dict):
                value = "  ".join("%s %.0f" % item for item in sorted(value.items()))
            elif value is not None:
                value = "%.2f" % value
            print("  %-16s %s" % (name, value))


if __name__ == "__main__":
    main()
