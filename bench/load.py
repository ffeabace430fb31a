"""Load and soak: the service under locust (headless), on SQLite or PostgreSQL.

    python bench/load.py --db sqlite --users 64 --seconds 60
    python bench/load.py --db postgresql
    python bench/load.py --soak 10          # minutes, 8 users (SQLite unless --db)

What the users do is bench/locustfile.py. Locust runs as a subprocess (it
monkey-patches the interpreter with gevent, which must never happen inside
pytest or here); its CSV statistics are read back once it ends. Prints one
row per request type: count, failures, p50/p95/p99; a soak adds the resident
memory of each daemon (all its processes) early and late in the run.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import csv
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from dataclasses import field

# Imported from tests/reliability too, where bench/ is not on the path.
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))

import procstat  # noqa: E402
from service import Service  # noqa: E402

LOCUSTFILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "locustfile.py")
# Every request type bench/locustfile.py makes: a run that missed one did
# not test what it claims to.
REQUEST_TYPES = ("v1 list", "v2 list", "v1 show (HEAD)", "v2 show", "v1 download",
                 "v2 download", "v1 create", "v2 create", "v1 upload", "v2 upload",
                 "v1 delete", "v2 delete")
SOAK_USERS = 8
SAMPLE_SECONDS = 5.0
# Users finish the task they are in when the time is up (a create is always
# followed by its upload), so the run ends with no request cut off.
STOP_TIMEOUT = 15


@dataclass(frozen=True)
class RequestStats:
    """Locust's figures for one request type."""

    name: str
    requests: int
    failures: int
    p50_ms: float
    p95_ms: float
    p99_ms: float


@dataclass
class LoadResult:
    """What one locust run measured, and what it left in the service."""

    stats: list[RequestStats]
    errors: list[str]           # locust failures and exceptions, one line each
    leftovers: list[str]        # images not active, or bytes without an image
    log_errors: list[str]       # ERROR lines the daemons logged during the run
    exceptions: int             # raised in the users' code (also counted as failures)
    memory: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return sum(s.requests for s in self.stats)

    @property
    def failures(self) -> int:
        return sum(s.failures for s in self.stats) + self.exceptions


@dataclass(frozen=True)
class Growth:
    """A daemon's resident memory early in a soak and at its end."""

    daemon: str
    start_mib: float
    end_mib: float

    @property
    def pct(self) -> float:
        return (self.end_mib - self.start_mib) / self.start_mib * 100


# -- the service ---------------------------------------------------------------

@contextlib.contextmanager
def postgres_database():
    """A throwaway PostgreSQL database on 127.0.0.1:5432; its URL."""
    import psycopg2
    name = "glance_load_%s" % secrets.token_hex(4)
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute('CREATE DATABASE "%s"' % name)
    try:
        yield "postgresql://postgres@127.0.0.1:5432/%s" % name
    finally:
        cur = admin.cursor()
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s", (name,))
        cur.execute('DROP DATABASE IF EXISTS "%s"' % name)
        admin.close()


@contextlib.contextmanager
def running_service(connection: str | None = None):
    """glance-all on a throwaway data directory; both daemons gone afterwards."""
    svc = Service(connection)
    # glance-all and both daemons write to this pipe (their logs go to files
    # in the data directory); unread, a full pipe would stall a daemon
    # mid-request in a long soak.
    threading.Thread(target=collections.deque, args=(svc.proc.stdout, 0), daemon=True).start()
    daemons = [pids[0] for pids in svc.daemons().values()]
    try:
        yield svc
    finally:
        svc.stop()
        # Each daemon leads a session of its own: if glance-all could not stop
        # them, nothing else will.
        for pid in daemons:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


def _log_errors(svc: Service) -> list[str]:
    lines = []
    for name in ("glance-api.log", "glance-registry.log"):
        with contextlib.suppress(OSError), open(os.path.join(svc.data, name)) as f:
            lines += ["%s: %s" % (name, line.rstrip()) for line in f
                      if " ERROR " in line or " CRITICAL " in line]
    return lines


def leftovers(svc: Service, stats: list[RequestStats]) -> list[str]:
    """Images not active, files in the store that no active image owns, and
    active images other than those uploaded (2xx) and not deleted since."""
    images, marker = [], None
    while True:
        query = "?limit=200" + ("&marker=%s" % marker if marker else "")
        with urllib.request.urlopen(svc.url + "/v1/images/detail" + query, timeout=60) as r:
            page = json.load(r)["images"]
        images += page
        if len(page) < 200:
            break
        marker = page[-1]["id"]
    found = ["image %s is %s" % (i["id"], i["status"]) for i in images
             if i["status"] != "active"]
    active = {i["id"] for i in images if i["status"] == "active"}
    found += ["%s in the store, no active image" % name
              for name in sorted(os.listdir(svc.images_dir)) if name not in active]
    done = {s.name: s.requests - s.failures for s in stats}
    kept = sum(done.get("%s upload" % api, 0) - done.get("%s delete" % api, 0)
               for api in ("v1", "v2"))
    if kept != len(active):
        found.append("%d images active, but %d uploaded and not deleted" % (len(active), kept))
    return found


# -- locust --------------------------------------------------------------------

def run_locust(url: str, users: int, seconds: int, workdir: str) -> int:
    """Locust headless against ``url``; its exit status (its CSV files are in ``workdir``)."""
    cmd = [sys.executable, "-m", "locust", "-f", LOCUSTFILE, "--headless",
           "--host", url, "--users", str(users), "--spawn-rate", str(users),
           "--run-time", "%ds" % seconds, "--stop-timeout", str(STOP_TIMEOUT),
           "--csv", os.path.join(workdir, "load"), "--only-summary",
           "--exit-code-on-error", "0", "--loglevel", "WARNING",
           "--logfile", os.path.join(workdir, "locust.log")]
    # From workdir: locust reads locust.conf and pyproject.toml where it starts.
    proc = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        return proc.wait(seconds + STOP_TIMEOUT + 120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def read_stats(workdir: str) -> tuple[list[RequestStats], list[str], int]:
    """Per-request-type figures, failure lines and the exception count of a run,
    from the CSV files bench/locustfile.py writes once every user has stopped."""
    stats = []
    with open(os.path.join(workdir, "load_final_stats.csv"), newline="") as f:
        for row in csv.DictReader(f):
            if row["Name"] == "Aggregated":
                continue
            stats.append(RequestStats(row["Name"], int(row["Request Count"]),
                                      int(row["Failure Count"]), _ms(row["50%"]),
                                      _ms(row["95%"]), _ms(row["99%"])))
    errors, exceptions = [], 0
    with open(os.path.join(workdir, "load_final_failures.csv"), newline="") as f:
        errors += ["%s %s: %s (x%s)" % (r["Method"], r["Name"], r["Error"], r["Occurrences"])
                   for r in csv.DictReader(f)]
    with open(os.path.join(workdir, "load_final_exceptions.csv"), newline="") as f:
        for r in csv.DictReader(f):
            exceptions += int(r["Count"])
            errors.append("exception x%s: %s" % (r["Count"], r["Message"]))
    order = {name: i for i, name in enumerate(REQUEST_TYPES)}
    stats.sort(key=lambda s: order.get(s.name, len(order)))
    return stats, errors, exceptions


def _ms(text: str) -> float:
    return float(text) if text not in ("", "N/A") else 0.0


class MemorySampler:
    """Every ``interval`` seconds, the RSS of each daemon (master and workers)."""

    def __init__(self, svc: Service, interval: float = SAMPLE_SECONDS):
        self.svc, self.interval = svc, interval
        self.samples: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        start = time.monotonic()
        while not self._stop.is_set():
            # The trees are read again each time: a worker gunicorn replaced
            # is a new pid, and its memory counts as much as the old one's.
            try:
                groups = self.svc.daemons()
            except OSError:  # a process ended while its tree was read: next time
                groups = {}
            for name, pids in groups.items():
                self.samples[name].append((time.monotonic() - start, procstat.rss_mib(pids)))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def load(users: int, seconds: int, connection: str | None = None,
         sample_memory: bool = False) -> LoadResult:
    """Start the service, run locust against it, and collect what it measured."""
    with tempfile.TemporaryDirectory(prefix="glance-load-") as workdir, \
            running_service(connection) as svc:
        sampler = MemorySampler(svc) if sample_memory else contextlib.nullcontext()
        with sampler:
            status = run_locust(svc.url, users, seconds, workdir)
        if not os.path.exists(os.path.join(workdir, "load_final_stats.csv")):
            with open(os.path.join(workdir, "locust.log")) as f:
                raise RuntimeError("locust exited %d without statistics:\n%s"
                                   % (status, f.read()[-3000:]))
        stats, errors, exceptions = read_stats(workdir)
        result = LoadResult(stats, errors, leftovers(svc, stats), _log_errors(svc), exceptions)
        if sample_memory:
            result.memory = dict(sampler.samples)
        return result


# -- the soak's figures ----------------------------------------------------------

def growth(samples: list[tuple[float, float]], seconds: float) -> tuple[float, float]:
    """Mean RSS over the second minute (after a minute's warm-up) and over the last.

    Runs shorter than five minutes use fifths of the run instead of minutes.
    """
    window = min(60.0, seconds / 5)

    def mean(lo: float, hi: float) -> float:
        values = [mib for t, mib in samples if lo <= t < hi]
        return sum(values) / len(values)

    return mean(window, 2 * window), mean(seconds - window, seconds + 1)


def soak_growth(result: LoadResult, seconds: float) -> list[Growth]:
    """Each daemon's early and late RSS in a soak."""
    return [Growth(name, *growth(samples, seconds))
            for name, samples in sorted(result.memory.items())]


# -- by hand ---------------------------------------------------------------------

def print_load(result: LoadResult, title: str) -> None:
    print("\n%s" % title)
    print("| request type | requests | failures | p50 ms | p95 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for s in result.stats:
        print("| %s | %d | %d | %.0f | %.0f | %.0f |"
              % (s.name, s.requests, s.failures, s.p50_ms, s.p95_ms, s.p99_ms))
    print("| all | %d | %d | | | |" % (result.requests, result.failures))
    missing = [name for name in REQUEST_TYPES if name not in {s.name for s in result.stats}]
    for line in (["request type never made: " + n for n in missing] + result.errors
                 + result.leftovers + result.log_errors[:20]):
        print("  " + line)


def minute_means(samples: list[tuple[float, float]]) -> list[float]:
    """Mean RSS of each whole minute of a run, in order."""
    minutes = collections.defaultdict(list)
    for t, mib in samples:
        minutes[int(t // 60)].append(mib)
    return [sum(v) / len(v) for _, v in sorted(minutes.items())]


def print_soak(result: LoadResult, growths: list[Growth], minutes: float) -> None:
    print("\nsoak, %g min: resident memory, mean of the second minute and of the last"
          % minutes)
    print("| daemon | start MiB | end MiB | growth |")
    print("|---|---:|---:|---:|")
    for g in growths:
        print("| glance-%s | %.1f | %.1f | %+.1f %% |" % (g.daemon, g.start_mib, g.end_mib,
                                                         g.pct))
    for name, samples in sorted(result.memory.items()):
        print("  glance-%s, mean RSS of each minute (MiB): %s" % (
            name, " ".join("%.1f" % m for m in minute_means(samples))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--users", type=int, help="default 64 (a soak: %d)" % SOAK_USERS)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--soak", type=float, metavar="MINUTES",
                        help="run this long and report the daemons' memory growth")
    args = parser.parse_args()
    users = args.users or (SOAK_USERS if args.soak else 64)
    seconds = int(args.soak * 60) if args.soak else args.seconds
    with contextlib.ExitStack() as stack:
        connection = (stack.enter_context(postgres_database())
                      if args.db == "postgresql" else None)
        result = load(users, seconds, connection, sample_memory=bool(args.soak))
    print_load(result, "%s, %d users, %d s" % (args.db, users, seconds))
    if args.soak:
        print_soak(result, soak_growth(result, seconds), args.soak)
    sys.exit(1 if result.failures or result.leftovers else 0)


if __name__ == "__main__":
    main()
