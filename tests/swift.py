"""A real OpenStack Swift all-in-one on loopback, for the store tests.

``start_cluster()`` installs PyPI ``swift`` (SWIFT_VERSION) once into its
own virtualenv under the test cache directory (``$GLANCE_TEST_CACHE``, else
``~/.cache/glance-lite-tests``), then starts one account, container, object
and proxy server on free 127.0.0.1 ports with their data on tmpfs
(/dev/shm). The proxy runs tempauth (user ``test:tester``, key
``testing``) and s3api (access key ``test:tester``, secret ``testing``)
and a small ``max_file_size`` so that segmented uploads are tested with a
few MiB. ``SwiftCluster.stop()`` ends the servers and removes the data.

Two things this machine needs (found while planning, see the project's
notes): swift.conf is otherwise read from the hard-wired
/etc/swift/swift.conf, so the servers run through a wrapper that points
Swift at ours before any server module is imported; and tempauth keeps its
tokens only in the proxy's cache, so with no memcached the proxy (one
process, workers = 0) gets a cache held in a dict.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

SWIFT_VERSION = "2.38.3"
MAX_FILE_SIZE = 4 * 1024 * 1024
"""The cluster's object size limit: larger images must be segmented."""
S3_MIN_PART = 1024 * 1024
"""The smallest S3 multipart part (all but the last) the cluster takes."""

SERVERS = ("account", "container", "object", "proxy")
PROXY_PIPELINE = ("catch_errors", "gatekeeper", "healthcheck",
                  "proxy-logging", "cache", "listing_formats", "s3api",
                  "tempauth", "copy", "slo", "dlo", "proxy-logging",
                  "proxy-server")
START_TIMEOUT = 60.0


def cache_dir() -> Path:
    """Where installed test tools are kept between runs."""
    root = os.environ.get("GLANCE_TEST_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "glance-lite-tests")
    return Path(root)


def ensure_swift_venv() -> Path:
    """The python of a virtualenv holding swift; installed once, locked."""
    venv = cache_dir() / f"swift-{SWIFT_VERSION}"
    python = venv / "bin" / "python"
    if (venv / ".complete").exists():
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".swift-{SWIFT_VERSION}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (venv / ".complete").exists():
            return python
        shutil.rmtree(venv, ignore_errors=True)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(venv)], check=True,
                       capture_output=True)
        result = subprocess.run(
            [str(python), "-m", "pip", "install", "-q",
             "--disable-pip-version-check", f"swift=={SWIFT_VERSION}"],
            capture_output=True, text=True, check=False)
        if result.returncode:
            raise RuntimeError(f"pip install swift=={SWIFT_VERSION} failed:"
                               f"\n{result.stdout}{result.stderr}")
        (venv / ".complete").touch()
    return python


def free_ports(count: int) -> list[int]:
    """Ports on 127.0.0.1 that nothing listens on right now."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


# Runs inside the swift virtualenv, from <dir>/lib.
_HELPER = '''
"""Helpers run by the Swift test cluster's own python."""
import logging
import logging.handlers
import sys


def drop_syslog(conf, name, log_to_console, log_route, fmt, logger,
                adapted_logger):
    """log_custom_handlers hook: no /dev/log here, log to stderr only."""
    for handler in list(logger.handlers):
        if isinstance(handler, logging.handlers.SysLogHandler):
            logger.removeHandler(handler)


class DictCache:
    """Enough of swift's MemcacheRing for one proxy process."""

    def __init__(self):
        self._data = {}

    def get(self, key, *args, **kwargs):
        return self._data.get(key)

    def set(self, key, value, *args, **kwargs):
        self._data[key] = value

    def incr(self, key, delta=1, *args, **kwargs):
        self._data[key] = int(self._data.get(key, 0)) + delta
        return self._data[key]

    def decr(self, key, delta=1, *args, **kwargs):
        return self.incr(key, -delta)

    def delete(self, key, *args, **kwargs):
        self._data.pop(key, None)

    def get_multi(self, keys, *args, **kwargs):
        return [self._data.get(key) for key in keys]

    def set_multi(self, mapping, *args, **kwargs):
        self._data.update(mapping)


def cache_filter_factory(global_conf, **local_conf):
    """paste filter putting one DictCache in every request's environ."""
    cache = DictCache()

    def make_filter(app):
        def cache_filter(env, start_response):
            env["swift.cache"] = cache
            return app(env, start_response)
        return cache_filter
    return make_filter


def build_rings(etc, ports):
    from swift.common.ring import RingBuilder
    for kind, port in ports.items():
        builder = RingBuilder(6, 1, 1)
        builder.add_dev({"id": 0, "region": 1, "zone": 1,
                         "ip": "127.0.0.1", "port": int(port),
                         "device": "d1", "weight": 100})
        builder.rebalance()
        builder.get_ring().save(f"{etc}/{kind}.ring.gz")


def serve(server, conf, swift_conf):
    # Before any server module is imported: constraints and storage
    # policies are read from this path at import time.
    import swift.common.utils
    swift.common.utils.SWIFT_CONF_FILE = swift_conf
    sys.argv = [f"swift-{server}-server", conf, "-v"]
    module = {"account": "swift.account.server",
              "container": "swift.container.server",
              "object": "swift.obj.server",
              "proxy": "swift.proxy.server"}[server]
    main = getattr(__import__(module, fromlist=["main"]), "main")
    sys.exit(main())


if __name__ == "__main__":
    import json
    if sys.argv[1] == "rings":
        build_rings(sys.argv[2], json.loads(sys.argv[3]))
    else:
        serve(sys.argv[2], sys.argv[3], sys.argv[4])
'''


def _server_conf(root: Path, server: str, port: int) -> str:
    common = f"""\
        [DEFAULT]
        bind_ip = 127.0.0.1
        bind_port = {port}
        workers = 0
        user = {getpass.getuser()}
        swift_dir = {root}/etc
        devices = {root}/srv
        mount_check = false
        recon_cache_path = {root}/cache
        log_level = WARNING
        log_custom_handlers = glance_swift_fixture.drop_syslog
        """
    if server == "proxy":
        return textwrap.dedent(common) + textwrap.dedent(f"""\
            [pipeline:main]
            pipeline = {" ".join(PROXY_PIPELINE)}

            [app:proxy-server]
            use = egg:swift#proxy
            account_autocreate = true
            node_timeout = 30
            conn_timeout = 5

            [filter:cache]
            paste.filter_factory = glance_swift_fixture:cache_filter_factory

            [filter:tempauth]
            use = egg:swift#tempauth
            user_test_tester = testing .admin
            user_test_tester3 = testing3

            [filter:s3api]
            use = egg:swift#s3api
            location = us-east-1
            min_segment_size = {S3_MIN_PART}
            max_upload_part_num = 10000

            [filter:catch_errors]
            use = egg:swift#catch_errors
            [filter:gatekeeper]
            use = egg:swift#gatekeeper
            [filter:healthcheck]
            use = egg:swift#healthcheck
            [filter:proxy-logging]
            use = egg:swift#proxy_logging
            [filter:listing_formats]
            use = egg:swift#listing_formats
            [filter:copy]
            use = egg:swift#copy
            [filter:slo]
            use = egg:swift#slo
            # s3api deletes multipart objects with async=on, which leaves
            # the parts to an expirer daemon that does not run here.
            allow_async_delete = false
            [filter:dlo]
            use = egg:swift#dlo
            """)
    app = {"object": "container_update_timeout = 10",
           "container": "node_timeout = 10", "account": ""}[server]
    return textwrap.dedent(common) + textwrap.dedent(f"""\
        [pipeline:main]
        pipeline = healthcheck {server}-server

        [filter:healthcheck]
        use = egg:swift#healthcheck

        [app:{server}-server]
        use = egg:swift#{server}
        {app}
        """)


_SWIFT_CONF = f"""\
[swift-hash]
swift_hash_path_prefix = glance-lite-tests
swift_hash_path_suffix = glance-lite-tests

[storage-policy:0]
name = gold
default = yes

[swift-constraints]
max_file_size = {MAX_FILE_SIZE}
"""


@dataclasses.dataclass
class SwiftCluster:
    """A running test cluster and how to reach it."""

    root: Path
    ports: dict[str, int]
    processes: dict[str, subprocess.Popen]
    user: str = "test:tester"
    key: str = "testing"

    @property
    def auth_url(self) -> str:
        """The tempauth v1 URL (swift_store_auth_address)."""
        return f"http://127.0.0.1:{self.ports['proxy']}/auth/v1.0"

    @property
    def storage_url(self) -> str:
        """The account's storage URL."""
        return f"http://127.0.0.1:{self.ports['proxy']}/v1/AUTH_test"

    @property
    def s3_endpoint(self) -> str:
        """The s3api endpoint (path-style, region us-east-1)."""
        return f"http://127.0.0.1:{self.ports['proxy']}"

    @property
    def max_file_size(self) -> int:
        return MAX_FILE_SIZE

    def env(self) -> dict[str, str]:
        """The cluster as the usual ST_* / S3 environment variables."""
        return {"ST_AUTH": self.auth_url, "ST_USER": self.user,
                "ST_KEY": self.key, "SWIFT_STORAGE_URL": self.storage_url,
                "SWIFT_S3_ENDPOINT": self.s3_endpoint,
                "SWIFT_S3_ACCESS_KEY": self.user,
                "SWIFT_S3_SECRET_KEY": self.key}

    def info(self) -> dict:
        """The proxy's /info document (its constraints, middleware)."""
        with _no_proxy_open(f"{self.s3_endpoint}/info") as response:
            return json.load(response)

    def connection(self):
        """A new swiftclient connection as the test user."""
        from swiftclient import client

        return client.Connection(authurl=self.auth_url, user=self.user,
                                 key=self.key, auth_version="1", retries=0)

    def list_container(self, container: str) -> list[str]:
        """The object names in ``container``; [] if it does not exist."""
        from swiftclient import client

        try:
            _, objects = self.connection().get_container(
                container, full_listing=True)
        except client.ClientException as exc:
            if exc.http_status == 404:
                return []
            raise
        return [entry["name"] for entry in objects]

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of every server's log, for failure messages."""
        out = []
        for server in SERVERS:
            path = self.root / "log" / f"{server}.log"
            if path.exists():
                text = path.read_text(errors="replace").splitlines()
                out.append(f"--- {server}.log\n" + "\n".join(text[-lines:]))
        return "\n".join(out)

    def stop(self) -> None:
        """Stop every server this cluster started and remove its data."""
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def _no_proxy_open(url: str, timeout: float = 2.0):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return opener.open(url, timeout=timeout)


def _healthy(port: int) -> bool:
    try:
        with _no_proxy_open(f"http://127.0.0.1:{port}/healthcheck") as resp:
            return resp.status == 200
    except OSError:
        return False


def start_cluster() -> SwiftCluster:
    """Install (once) and start a Swift all-in-one; raise if it fails."""
    python = ensure_swift_venv()
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    root = Path(tempfile.mkdtemp(prefix="glance-swift-", dir=shm))
    for sub in ("etc", "srv/d1", "lib", "log", "cache"):
        (root / sub).mkdir(parents=True)
    ports = dict(zip(SERVERS, free_ports(len(SERVERS)), strict=True))
    (root / "lib" / "glance_swift_fixture.py").write_text(_HELPER)
    (root / "etc" / "swift.conf").write_text(_SWIFT_CONF)
    for server in SERVERS:
        (root / "etc" / f"{server}-server.conf").write_text(
            _server_conf(root, server, ports[server]))
    env = {**os.environ, "PYTHONPATH": str(root / "lib")}
    helper = str(root / "lib" / "glance_swift_fixture.py")
    subprocess.run([str(python), helper, "rings", str(root / "etc"),
                    json.dumps({k: ports[k] for k in SERVERS[:3]})],
                   check=True, capture_output=True, env=env)
    cluster = SwiftCluster(root=root, ports=ports, processes={})
    try:
        for server in SERVERS:
            with open(root / "log" / f"{server}.log", "ab") as log:
                cluster.processes[server] = subprocess.Popen(
                    [str(python), helper, "serve", server,
                     str(root / "etc" / f"{server}-server.conf"),
                     str(root / "etc" / "swift.conf")],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    env=env, start_new_session=True)
        _wait_healthy(cluster)
    except BaseException:
        logs = cluster.log_tail()
        cluster.stop()
        raise RuntimeError(f"the Swift test cluster did not start:\n{logs}") from None
    return cluster


def _wait_healthy(cluster: SwiftCluster) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    waiting = set(SERVERS)
    while waiting:
        for server in sorted(waiting):
            process = cluster.processes[server]
            if process.poll() is not None:
                raise RuntimeError(f"swift {server} server exited with "
                                   f"{process.returncode}")
            if _healthy(cluster.ports[server]):
                waiting.discard(server)
        if waiting and time.monotonic() > deadline:
            raise RuntimeError(f"swift {sorted(waiting)} not healthy after "
                               f"{START_TIMEOUT:.0f} s")
        if waiting:
            time.sleep(0.05)


if __name__ == "__main__":
    started = time.monotonic()
    running = start_cluster()
    print(f"started in {time.monotonic() - started:.1f} s", running.env(),
          running.info()["swift"]["max_file_size"])
    running.stop()
