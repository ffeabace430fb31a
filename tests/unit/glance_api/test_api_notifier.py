"""The notifier: filtering, ordering, a bounded queue, and no bus library for noop."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from glance_api.notifier import Notifier
from glance_api.notifier import configured_drivers
from glance_api.notifier import is_disabled
from glance_common.context import RequestContext

CTX = RequestContext.build("alice", "tenant-a", ["member"], "req-1")


@pytest.mark.parametrize("event, disabled, expected", [
    ("image.create", ["image.create"], True),
    ("image.update", ["image.create"], False),
    ("image.member.create", ["image.member"], True),
    ("image.member.delete", ["image.member.*"], True),
    ("image.create", ["image.member.*"], False),
    ("image.upload", ["image"], True),
    ("image.uploadx", ["image.upload"], False),
])
def test_disabled_notifications_name_events_or_groups(event, disabled, expected):
    assert is_disabled(event, disabled) is expected


class Bus:
    """A publisher that records events, optionally blocking until released."""

    def __init__(self, blocked: bool = False):
        self.events = []
        self.released = threading.Event()
        if not blocked:
            self.released.set()
        self.seen = threading.Condition()

    def publish(self, context, priority, event_type, payload):
        self.released.wait(10)
        with self.seen:
            self.events.append((context, priority, event_type, payload))
            self.seen.notify_all()

    def wait_for(self, count):
        with self.seen:
            return self.seen.wait_for(lambda: len(self.events) >= count, 10)


def test_events_are_published_in_order_from_another_thread():
    bus = Bus()
    publishers = []

    def connect():
        publishers.append(threading.current_thread().name)
        return bus.publish

    notifier = Notifier(True, ["image.prepare"], connect=connect)
    for n in range(5):
        notifier.notify(CTX, "image.update", {"n": n})
    notifier.notify(CTX, "image.prepare", {"n": "skipped"})
    notifier.notify(CTX, "image.send", {"n": 5}, priority="error")
    assert bus.wait_for(6)
    assert [e[3]["n"] for e in bus.events] == [0, 1, 2, 3, 4, 5]
    assert bus.events[-1][1] == "error"
    assert bus.events[0][0]["project_id"] == "tenant-a"
    assert publishers == ["glance-notifier"]


def test_a_stuck_bus_drops_events_instead_of_blocking_the_caller(caplog):
    bus = Bus(blocked=True)
    notifier = Notifier(True, connect=lambda: bus.publish, queue_size=3)
    for n in range(10):
        notifier.notify(CTX, "image.update", {"n": n})  # returns at once
    assert notifier.dropped >= 6
    assert "Notification queue full" in caplog.text
    bus.released.set()
    assert bus.wait_for(10 - notifier.dropped)


def test_a_failing_bus_never_reaches_the_caller(caplog):
    def broken(*event):
        raise ConnectionError("broker gone")

    bus = Bus()
    calls = iter([broken, bus.publish])
    notifier = Notifier(True, connect=lambda: next(calls))
    notifier.notify(CTX, "image.update", {"n": 1})
    notifier.notify(CTX, "image.update", {"n": 2})
    notifier.stop()
    assert "Could not publish notification image.update" in caplog.text


def test_a_disabled_notifier_starts_no_thread():
    notifier = Notifier(False, connect=lambda: pytest.fail("connected"))
    notifier.notify(CTX, "image.create", {})
    assert not notifier.wants("image.create")
    assert not any(t.name == "glance-notifier" for t in threading.enumerate()
                   if t is not threading.current_thread() and notifier._thread is t)


def test_the_driver_is_read_from_the_config_files(tmp_path):
    from glance_api.cmd import parse_config

    path = tmp_path / "glance-api.conf"
    path.write_text("[oslo_messaging_notifications]\ndriver = messagingv2\n")
    assert configured_drivers(parse_config(["--config-file", str(path)])) == ["messagingv2"]
    path.write_text("[DEFAULT]\n")
    assert configured_drivers(parse_config(["--config-file", str(path)])) == []


CHECK = """
import sys
from glance_api.cmd import parse_config
from glance_api.app import create_app
conf = parse_config(sys.argv[1:])
app = create_app(conf)
app.extensions["glance"].notifier.notify(None, "image.create", {})
app.extensions["glance"].notifier.stop()  # the publishing thread has run
print("oslo_messaging" in sys.modules, app.extensions["glance"].notifier.enabled)
"""


@pytest.mark.parametrize("driver, expected", [("noop", "False False"),
                                              ("", "False False"),
                                              ("log", "True True")])
def test_oslo_messaging_is_imported_only_when_notifications_are_on(tmp_path, driver,
                                                                   expected):
    path = tmp_path / "glance-api.conf"
    path.write_text("[DEFAULT]\nregistry_port = 9\n[glance_store]\n"
                    "filesystem_store_datadir = %s\n"
                    "[oslo_messaging_notifications]\ndriver = %s\n"
                    % (tmp_path / "images", driver))
    out = subprocess.run([sys.executable, "-c", CHECK, "--config-file", str(path)],
                         capture_output=True, text=True, cwd=tmp_path,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == expected
