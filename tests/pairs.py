"""A real glance-registry + glance-api pair, and the databases it runs on."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

from tests import daemons
from tests.waiting import poll_until

SIZE_CAP = 8 * 1024 * 1024
ADMIN = {"X-Glance-Context-Roles": "admin", "Accept": "application/json"}


def migrate(url: str) -> None:
    """Create the registry schema, as ``glance-manage db sync`` does."""
    subprocess.run([sys.executable, "-m", "glance_registry.manage", "--config-file",
                    str(_conf_with_connection(url)), "db", "sync"], check=True,
                   cwd=str(daemons.REPO_ROOT))


def _conf_with_connection(url: str) -> Path:
    path = Path(tempfile.mkdtemp()) / "manage.conf"
    return daemons.write_config(path, {"database": {"connection": url}})


class Glance:
    """A registry and an api talking to each other over real HTTP.

    With ``keystone`` (a ``[keystone_authtoken]`` section) both daemons run
    ``auth_strategy = keystone``; ``service_token`` then gives the token the
    test's own registry calls (registry_get, registry_create) carry.
    """

    def __init__(self, base: Path, db_url: str, keystone: dict | None = None,
                 service_token=None, sections: dict | None = None, **api_options):
        self.base = base
        self.sections = sections or {}
        self.db_url = db_url
        self.keystone = keystone
        self.service_token = service_token
        self.images_dir = str(base / "images")
        os.makedirs(self.images_dir, exist_ok=True)
        self.size_cap = api_options.pop("image_size_cap", SIZE_CAP)
        self.api_options = api_options
        (base / "registry").mkdir(exist_ok=True)
        self.registry = self._start_registry()
        try:
            self.api = self._start_api()
        except BaseException:
            self.registry.stop()  # or it outlives the test run
            raise
        self.url = self.api.url

    def _start_registry(self) -> daemons.Daemon:
        if self.keystone is None:
            return daemons.start_registry(self.base / "registry", self.db_url)
        port = daemons.free_port()
        config = daemons.write_config(self.base / "registry" / "glance-registry.conf", {
            "DEFAULT": {"bind_host": "127.0.0.1", "bind_port": port, "workers": 1,
                        "threads": 4, "debug": True, "auth_strategy": "keystone"},
            "database": {"connection": self.db_url},
            "keystone_authtoken": self.keystone})
        cmd = [sys.executable, "-m", "glance_registry.cmd", "--config-file", str(config)]
        return daemons.start("glance-registry", cmd, config, port,
                             self.base / "registry" / "glance-registry.log")

    def registry_headers(self) -> dict:
        """Headers of an admin context, with a service token under Keystone."""
        headers = dict(ADMIN)
        if self.service_token is not None:
            headers["X-Auth-Token"] = self.service_token()
        return headers

    def _start_api(self) -> daemons.Daemon:
        port = self.api_options.get("bind_port") or daemons.free_port()
        defaults = {"bind_host": "127.0.0.1", "bind_port": port, "workers": 1,
                    "threads": 4, "debug": True, "registry_host": "127.0.0.1",
                    "registry_port": self.registry.port,
                    "image_size_cap": self.size_cap,
                    # Each pair stages on its own: a sweep removes staged
                    # files its own registry does not know.
                    "node_staging_uri": "file://%s/" % (self.base / "staging")}
        store = {"stores": "file,http", "default_store": "file",
                 "filesystem_store_datadir": self.images_dir}
        for key, value in self.api_options.items():
            (store if key.startswith("filesystem_") else defaults)[key] = value
        sections = {"DEFAULT": defaults, "glance_store": store, **self.sections}
        if self.keystone is not None:
            defaults["auth_strategy"] = "keystone"
            sections["keystone_authtoken"] = self.keystone
        config = daemons.write_config(self.base / "glance-api.conf", sections)
        cmd = [sys.executable, "-m", "glance_api.cmd", "--config-file", str(config)]
        return daemons.start("glance-api", cmd, config, port, self.base / "glance-api.log")

    def restart_registry(self) -> None:
        """Start the registry again on the same port and database."""
        self.registry.stop()
        config = self.registry.config
        cmd = [sys.executable, "-m", "glance_registry.cmd", "--config-file", str(config)]
        self.registry = daemons.start("glance-registry", cmd, config, self.registry.port,
                                      self.registry.log)

    def registry_get(self, image_id: str) -> dict:
        """The registry's full record of an image, as an admin sees it."""
        resp = requests.get(self.registry.url + "/images/" + image_id,
                            headers=self.registry_headers())
        resp.raise_for_status()
        return resp.json()["image"]

    def registry_create(self, image: dict) -> dict:
        """Record an image directly in the registry, as an admin."""
        resp = requests.post(self.registry.url + "/images", json={"image": image},
                             headers=self.registry_headers())
        resp.raise_for_status()
        return resp.json()["image"]

    def registry_update(self, image_id: str, changes: dict) -> dict:
        """Change an image directly in the registry, as an admin (e.g. its locations)."""
        resp = requests.put(self.registry.url + "/images/" + image_id,
                            json={"image": changes}, headers=self.registry_headers())
        resp.raise_for_status()
        return resp.json()["image"]

    def wait_for_log(self, which: str, text: str) -> bool:
        """True once the api's or the registry's log mentions ``text``."""
        daemon = self.api if which == "api" else self.registry
        return poll_until(lambda: text in daemon.log_text(), timeout=10)

    def stop(self) -> None:
        self.api.stop()
        self.registry.stop()


def database(request, tmp_path_factory, kind: str) -> str:
    """A migrated registry database of ``kind`` (sqlite or postgresql) for this run."""
    if kind == "sqlite":
        url = "sqlite:///%s" % (tmp_path_factory.mktemp("db") / "glance.sqlite")
    else:
        url = request.getfixturevalue("postgres").create_database()
    migrate(url)
    return url


