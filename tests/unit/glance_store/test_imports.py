"""glance_store stays a light, standalone library."""

from __future__ import annotations

import json
import subprocess
import sys


def modules_after(code: str) -> set[str]:
    """The modules loaded by running ``code`` in a fresh interpreter."""
    script = (code + "\nimport json, sys\n"
              "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", script], check=True,
                         capture_output=True, text=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_importing_glance_store_pulls_in_neither_flask_nor_peewee():
    loaded = modules_after("import glance_store")

    assert "glance_store" in loaded
    assert not {"flask", "peewee", "werkzeug"} & loaded
    assert not {m for m in loaded if m.startswith(("glance_api",
                                                   "glance_registry",
                                                   "glance_common"))}


def test_only_configured_drivers_are_imported(tmp_path):
    loaded = modules_after(f"""
from oslo_config import cfg
import glance_store
conf = cfg.ConfigOpts()
glance_store.register_opts(conf)
conf([])
conf.set_override("stores", ["file"], "glance_store")
conf.set_override("filesystem_store_datadir", {str(tmp_path)!r},
                  "glance_store")
glance_store.Stores.from_conf(conf)
""")

    assert "glance_store.drivers.filesystem" in loaded
    assert "glance_store.drivers.http" not in loaded
    assert "urllib3" not in loaded
    assert "requests" not in loaded
