"""Notifications of image events, published through oslo.messaging.

A request never waits for the message bus: ``Notifier.notify`` only puts
the event on a bounded in-memory queue, and one background thread per
worker process publishes from it. A full queue (the bus is down or slow)
drops the event with a warning. The thread starts on the first event in
each process, because threads do not survive gunicorn's fork.

oslo.messaging is imported only when ``[oslo_messaging_notifications]
driver`` names a real driver (``messagingv2``, ``messaging``, ``log``...):
the noop default keeps the daemon light. Its ``retry`` option, unbounded
(-1) by default, is taken as 0 here, so a dead broker is given up at once
instead of holding the publishing thread for ever.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from typing import Callable

from oslo_config import cfg

from glance_api import payloads
from glance_common.context import RequestContext

LOG = logging.getLogger(__name__)
GROUP = "oslo_messaging_notifications"
QUEUE_SIZE = 1000
DROP_WARNING_INTERVAL = 10.0  # seconds between "dropped" warnings
_STOP = object()

Publish = Callable[[dict, str, str, dict], None]  # context, priority, type, payload


def configured_drivers(conf) -> list[str]:
    """The notification drivers the config files name, read without oslo.messaging.

    oslo.messaging registers ``[oslo_messaging_notifications]`` itself;
    registering a copy of its options here would clash with it, so the
    files are read again by a throwaway ConfigOpts holding only ``driver``.
    """
    probe = cfg.ConfigOpts()
    probe.register_opt(cfg.MultiStrOpt("driver", default=[]), group=GROUP)
    args = []
    for path in conf.config_file or []:
        args += ["--config-file", path]
    for path in conf.config_dir or []:
        args += ["--config-dir", path]
    probe(args, project="glance", default_config_files=[], default_config_dirs=[])
    return [d.strip() for d in probe[GROUP].driver if d.strip()]


def is_disabled(event_type: str, disabled: list[str]) -> bool:
    """True when ``disabled_notifications`` names the event or a group holding it.

    ``image.member`` and ``image.member.*`` both name every
    ``image.member.<action>`` event; ``image.create`` names that one event.
    """
    for entry in disabled:
        group = entry.strip().removesuffix(".*")
        if group and (event_type == group or event_type.startswith(group + ".")):
            return True
    return False


def oslo_publisher(conf) -> Publish:
    """Publish through oslo.messaging as configured in ``conf`` (imports it)."""
    import oslo_messaging

    oslo_messaging.set_transport_defaults("glance")  # Glance's exchange name
    transport = oslo_messaging.get_notification_transport(conf)
    retry = conf[GROUP].retry
    notifier = oslo_messaging.Notifier(
        transport, publisher_id=conf.default_publisher_id,
        retry=retry if retry >= 0 else 0)

    def publish(context: dict, priority: str, event_type: str, payload: dict) -> None:
        getattr(notifier, priority)(context, event_type, payload)

    return publish


class Notifier:
    """Queues events for a background publisher; never blocks or fails a request."""

    def __init__(self, enabled: bool, disabled: list[str] | None = None,
                 connect: Callable[[], Publish] | None = None,
                 queue_size: int = QUEUE_SIZE):
        self.enabled = enabled
        self._disabled = list(disabled or [])
        self._connect = connect
        self._queue_size = queue_size
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._start_lock = threading.Lock()
        self._last_drop_warning = 0.0
        self.dropped = 0

    @classmethod
    def from_conf(cls, conf) -> "Notifier":
        """A notifier for glance-api's config; disabled for noop or no driver."""
        drivers = configured_drivers(conf)
        enabled = any(d != "noop" for d in drivers)
        return cls(enabled, conf.disabled_notifications,
                   connect=(lambda: oslo_publisher(conf)) if enabled else None)

    def wants(self, event_type: str) -> bool:
        """True when ``event_type`` would be published (worth building a payload)."""
        return self.enabled and not is_disabled(event_type, self._disabled)

    def notify(self, ctx: RequestContext | None, event_type: str, payload: dict,
               priority: str = "info") -> None:
        """Queue one event; drop it with a warning if the queue is full."""
        if not self.wants(event_type):
            return
        try:
            self._running_queue().put_nowait(
                (_context_dict(ctx), priority, event_type, payload))
        except queue.Full:
            self._note_drop(event_type)

    def image_event(self, ctx: RequestContext | None, event_type: str,
                    image: dict) -> None:
        """Queue an image.* event about ``image`` (its payload built only if wanted)."""
        if self.wants(event_type):
            self.notify(ctx, event_type, payloads.image(image))

    def stop(self, timeout: float = 2.0) -> None:
        """Publish what is queued, waiting at most ``timeout`` seconds."""
        thread = self._thread
        if thread is None or self._pid != os.getpid() or not thread.is_alive():
            return
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            return
        thread.join(timeout)

    def _running_queue(self) -> queue.Queue:
        # A queue and thread made before a fork belong to the parent: the
        # child starts its own.
        if self._pid == os.getpid() and self._thread is not None:
            return self._queue
        with self._start_lock:
            if self._pid != os.getpid() or self._thread is None:
                self._queue = queue.Queue(self._queue_size)
                self._thread = threading.Thread(
                    target=self._run, args=(self._queue,),
                    name="glance-notifier", daemon=True)
                self._pid = os.getpid()
                self._thread.start()
        return self._queue

    def _run(self, events: queue.Queue) -> None:
        publish = None
        while True:
            event = events.get()
            if event is _STOP:
                return
            try:
                if publish is None:
                    publish = self._connect()
                publish(*event)
            except Exception:
                LOG.exception("Could not publish notification %s", event[2])

    def _note_drop(self, event_type: str) -> None:
        self.dropped += 1
        now = time.monotonic()
        if now - self._last_drop_warning >= DROP_WARNING_INTERVAL:
            self._last_drop_warning = now
            LOG.warning("Notification queue full (is the message bus down?): "
                        "dropped %s; %d dropped so far", event_type, self.dropped)


def _context_dict(ctx: RequestContext | None) -> dict:
    if ctx is None:
        return {}
    return {"user_id": ctx.user_id, "project_id": ctx.project_id,
            "roles": list(ctx.roles), "request_id": ctx.request_id,
            "is_admin": ctx.is_admin}
