"""glance-all: registry and api together on the embedded default, in the foreground.

SQLite and the filesystem store under one data directory; no Keystone. Each
daemon runs as its own process, exactly as it would under systemd.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request

REGISTRY_CONF = """[DEFAULT]
bind_host = {host}
bind_port = {registry_port}
log_file = {data}/glance-registry.log

[database]
connection = {connection}
"""

API_CONF = """[DEFAULT]
bind_host = {host}
bind_port = {api_port}
registry_host = {host}
registry_port = {registry_port}
auth_strategy = noauth
log_file = {data}/glance-api.log

[glance_store]
stores = file,http
default_store = file
filesystem_store_datadir = {data}/images
"""


def _write_once(path: str, text: str) -> None:
    # An operator's edits to an existing file win over our defaults.
    if not os.path.exists(path):
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


def _wait_healthy(url: str, proc: subprocess.Popen, name: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("%s exited with status %s; see its log." % (name, proc.returncode))
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("%s did not become healthy at %s" % (name, url))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the glance-all console script."""
    parser = argparse.ArgumentParser(prog="glance-all", description=__doc__)
    parser.add_argument("--data-dir", default="./data",
                        help="Where the database, image files, configs and logs live.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--api-port", type=int, default=9292)
    parser.add_argument("--registry-port", type=int, default=9191)
    parser.add_argument("--connection",
                        help="Database URL (default: SQLite in the data directory).")
    args = parser.parse_args(argv)

    data = os.path.abspath(args.data_dir)
    os.makedirs(os.path.join(data, "images"), exist_ok=True)
    values = {"data": data, "host": args.host, "api_port": args.api_port,
              "registry_port": args.registry_port,
              "connection": args.connection or "sqlite:///%s/glance.sqlite" % data}
    registry_conf = os.path.join(data, "glance-registry.conf")
    api_conf = os.path.join(data, "glance-api.conf")
    _write_once(registry_conf, REGISTRY_CONF.format(**values))
    _write_once(api_conf, API_CONF.format(**values))

    py = sys.executable
    subprocess.run([py, "-m", "glance_registry.manage", "--config-file",
                    registry_conf, "db", "sync"], check=True)
    procs = []

    def stop(*_):
        # SIGTERM is gunicorn's graceful stop; SIGINT (what a terminal sends)
        # can deadlock a gthread worker, so the daemons run in sessions of
        # their own and only ever get SIGTERM from here.
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=45)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    signal.signal(signal.SIGTERM, lambda *a: (stop(), sys.exit(0)))
    try:
        registry = subprocess.Popen([py, "-m", "glance_registry.cmd",
                                     "--config-file", registry_conf],
                                    start_new_session=True)
        procs.append(registry)
        _wait_healthy("http://%s:%d/healthcheck" % (args.host, args.registry_port),
                      registry, "glance-registry", time.monotonic() + 60)
        api = subprocess.Popen([py, "-m", "glance_api.cmd", "--config-file", api_conf],
                               start_new_session=True)
        procs.append(api)
        _wait_healthy("http://%s:%d/healthcheck" % (args.host, args.api_port),
                      api, "glance-api", time.monotonic() + 60)
        print("Glance is serving the Images API v2 and v1 at http://%s:%d/ (data in %s)."
              % (args.host, args.api_port, data), flush=True)
        print("Try: glance --os-image-url http://%s:%d --os-auth-token x "
              "image-list   (Ctrl-C stops both daemons)"
              % (args.host, args.api_port), flush=True)
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        raise SystemExit("A daemon exited unexpectedly; see the logs in %s." % data)
    except KeyboardInterrupt:
        pass
    finally:
        stop()


if __name__ == "__main__":
    main()
