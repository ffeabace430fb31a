"""Real glance-registry + glance-api pairs for functional tests.

The main pair starts once per database per run; pairs with special settings
(a short heartbeat, a tiny store) start once per module that needs them.
"""

from __future__ import annotations

import subprocess

import pytest

# The real clients' installers (glanceclient 4, openstackclient), as
# fixtures every functional module can use.
from tests.clients import glance_v2_cli  # noqa: F401
from tests.clients import openstack_cli  # noqa: F401
from tests.pairs import Glance
from tests.pairs import database
from tests.required import unavailable


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def glance(request, tmp_path_factory):
    """The main pair, on each database in turn."""
    url = database(request, tmp_path_factory, request.param)
    pair = Glance(tmp_path_factory.mktemp("glance-" + request.param), url)
    yield pair
    pair.stop()


@pytest.fixture(scope="module")
def fragile_glance(request, tmp_path_factory):
    """A pair whose uploads beat every second, so abandoned ones are swept fast."""
    url = database(request, tmp_path_factory, "sqlite")
    pair = Glance(tmp_path_factory.mktemp("fragile"), url, upload_heartbeat_interval=1)
    yield pair
    pair.stop()


@pytest.fixture(scope="module")
def tiny_store_glance(request, tmp_path_factory):
    """A pair whose file store is a 1 MiB tmpfs: uploads find it full."""
    url = database(request, tmp_path_factory, "sqlite")
    base = tmp_path_factory.mktemp("tiny")
    images = base / "images"
    images.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs",
                              str(images)], capture_output=True, text=True)
    if mounted.returncode != 0:
        unavailable("cannot mount a tmpfs for the full-store test (needs root): "
                    + mounted.stderr.strip())
    try:
        pair = Glance(base, url)
        yield pair
        pair.stop()
    finally:
        subprocess.run(["umount", str(images)], check=False)


@pytest.fixture(scope="session")
def real_keystone(tmp_path_factory):
    """A real Keystone for the run (tests/keystone.py); skips when it cannot
    be set up, except under CI (``CI`` set), where that fails the tests."""
    from tests.keystone import Keystone

    try:
        server = Keystone.start(tmp_path_factory.mktemp("keystone"))
    except Exception as exc:  # install, bootstrap or start: any of them
        unavailable("Keystone could not be set up: %s" % exc)
    yield server
    server.stop()
