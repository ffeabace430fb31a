"""Log lines written by a listener thread, so a request thread only enqueues.

The thread must not be mid-write when its process forks, and does not
survive a fork anyway, so it runs only between explicit ``start()`` and
``stop()`` (``glance_common.server`` calls them from gunicorn's hooks).
While it is stopped lines are written in place, so none is lost before
``start()``, after ``stop()``, or at exit (``logging.shutdown`` calls ``close()``).
"""

from __future__ import annotations

import logging
import queue
from logging.handlers import QueueHandler
from logging.handlers import QueueListener


class QueueWriter(QueueHandler):
    """Enqueues each record (message merged in the caller's thread) for ``target``."""

    def __init__(self, target: logging.StreamHandler):
        super().__init__(queue.SimpleQueue())  # no lock a fork could leave held
        self.target = target
        self._listener = QueueListener(self.queue, _FlushWhenIdle(target, self.queue))
        self.running = False  # whether this process's writer thread runs; read only

    def start(self) -> None:
        """Start this process's writer thread."""
        with self.lock:
            if not self.running:
                self._listener.start()
                self.running = True

    def stop(self) -> None:
        """Write every queued line, then end the thread; later lines are written in place."""
        with self.lock:  # emit() runs under it: nothing is enqueued after the sentinel
            if not self.running:
                return
            self.running = False
        self._listener.stop()
        self.target.flush()

    def emit(self, record: logging.LogRecord) -> None:
        if self.running:
            super().emit(record)
        else:
            self.target.handle(record)

    def close(self) -> None:
        self.stop()
        self.target.close()
        super().close()


class _FlushWhenIdle(logging.Handler):
    """Writes to ``target``'s stream, flushing only when the queue is empty.

    A flush (a system call) per line cost measurable time under load; what
    queued meanwhile is a natural batch, and an idle daemon's last line is
    still flushed at once.
    """

    def __init__(self, target: logging.StreamHandler, pending: queue.SimpleQueue):
        super().__init__()
        self.target = target
        self.pending = pending

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.target.format(record) + self.target.terminator
            with self.target.lock:
                self.target.stream.write(line)
                if self.pending.empty():
                    self.target.stream.flush()
        except Exception:  # noqa: BLE001 - like StreamHandler: report, never raise
            self.handleError(record)
