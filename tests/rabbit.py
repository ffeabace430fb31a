"""A real RabbitMQ consumer of the api's notifications, for functional tests.

The broker is the one on 127.0.0.1:5672 (guest/guest). Each listener binds
its own exchange and topic, so runs never see each other's events, and
removes its queues when stopped.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time

import pytest

HOST, PORT = "127.0.0.1", 5672
URL = "rabbit://guest:guest@%s:%d/" % (HOST, PORT)
PRIORITIES = ("info", "error")


def require_broker() -> None:
    """Skip when RabbitMQ is unreachable; under CI (``CI`` set), fail."""
    try:
        socket.create_connection((HOST, PORT), timeout=2).close()
    except OSError as exc:
        message = "RabbitMQ at %s:%d unreachable: %s" % (HOST, PORT, exc)
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must run the notification tests)")
        pytest.skip(message)


class Listener:
    """Collects every notification published to one exchange and topic."""

    def __init__(self):
        import oslo_messaging
        from oslo_config import cfg

        self.exchange = "glance_test_%s" % secrets.token_hex(4)
        self.topic = self.exchange
        self.events: list[dict] = []
        self._cond = threading.Condition()
        conf = cfg.ConfigOpts()
        conf([])
        # The first transport registers oslo.messaging's options on conf, so
        # the second one can publish to (and listen on) our own exchange.
        oslo_messaging.get_notification_transport(conf, url=URL).cleanup()
        conf.set_override("control_exchange", self.exchange)
        self._transport = oslo_messaging.get_notification_transport(conf, url=URL)
        target = oslo_messaging.Target(topic=self.topic, exchange=self.exchange)
        self._listener = oslo_messaging.get_notification_listener(
            self._transport, [target], [_Endpoint(self)], executor="threading")
        self._listener.start()
        self._confirm_bound(oslo_messaging)

    def _confirm_bound(self, oslo_messaging) -> None:
        # Events published before the queues are bound are lost; wait until
        # one of our own arrives.
        notifier = oslo_messaging.Notifier(
            self._transport, publisher_id="test", driver="messagingv2",
            topics=[self.topic], retry=0)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            notifier.info({}, "test.ready", {})
            if self.wait_for("test.ready", timeout=1, required=False):
                return
        raise RuntimeError("the test listener never received its own event")

    def record(self, priority: str, event_type: str, payload: dict,
               publisher_id: str) -> None:
        """Called by the endpoint for each event."""
        with self._cond:
            self.events.append({"priority": priority, "event_type": event_type,
                                "payload": payload, "publisher_id": publisher_id})
            self._cond.notify_all()

    def wait_for(self, event_type: str, match=lambda payload: True,
                 timeout: float = 15.0, required: bool = True) -> dict | None:
        """The first event of ``event_type`` whose payload satisfies ``match``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events:
                    if event["event_type"] == event_type and match(event["payload"]):
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    if required:
                        raise AssertionError("no %s event within %ss; got %s" % (
                            event_type, timeout,
                            [e["event_type"] for e in self.events]))
                    return None
                self._cond.wait(left)

    def types_for(self, image_id: str) -> list[str]:
        """The event types received about one image, in arrival order."""
        with self._cond:
            return [e["event_type"] for e in self.events
                    if (e["payload"] or {}).get("id") == image_id
                    or (e["payload"] or {}).get("image_id") == image_id]

    def stop(self) -> None:
        """Stop consuming and delete this listener's queues from the broker."""
        self._listener.stop()
        self._listener.wait()
        self._transport.cleanup()
        import kombu

        with kombu.Connection("amqp://guest:guest@%s:%d//" % (HOST, PORT)) as conn:
            channel = conn.channel()
            for priority in PRIORITIES:
                try:
                    channel.queue_delete("%s.%s" % (self.topic, priority))
                except Exception:  # already gone: nothing to clean
                    channel = conn.channel()
            try:
                channel.exchange_delete(self.exchange)
            except Exception:  # already gone: nothing to clean
                pass


class _Endpoint:
    def __init__(self, listener: Listener):
        self._listener = listener

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self._listener.record("info", event_type, payload, publisher_id)

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self._listener.record("error", event_type, payload, publisher_id)
