"""Log lines written by a thread of their own, a batch at a time.

Every request logs at least one line. With an ordinary handler each line
takes the handler's lock and writes and flushes the file while holding it,
so under load request threads queue up behind one another on that lock.
Here a request thread only hands the finished record to a queue; a writer
thread writes whatever has queued and flushes once per batch, so a line
still reaches the file within moments, and an idle daemon's log is never
held back.

Threads do not survive fork: the writer is started by the first record a
process logs, so each gunicorn worker gets its own; a restart after a flush
keeps the queue, and whatever came in meanwhile.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading

_STOP = None


class QueuedHandler(logging.Handler):
    """Formats records in the caller's thread; ``target`` writes them later."""

    def __init__(self, target: logging.StreamHandler):
        super().__init__()
        self.target = target
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._pid: int | None = None
        self._writer: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._exit_hook_pid: int | None = None
        os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        # The writer thread did not survive the fork, a lock another thread
        # held then would stay held, and what the parent queued is the
        # parent's to write.
        self._start_lock = threading.Lock()
        self._queue = queue.SimpleQueue()
        self._writer = None
        self._pid = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            # Format now: the record's request id and arguments belong to
            # this moment and this thread.
            line = self.target.format(record) + self.target.terminator
        except Exception:  # noqa: BLE001 - logging must not fail the caller
            self.handleError(record)
            return
        if self._pid != os.getpid():
            self._start()
        self._queue.put(line)

    def _start(self) -> None:
        with self._start_lock:
            if self._pid == os.getpid():
                return
            self._writer = threading.Thread(target=self._write, name="log-writer",
                                            daemon=True)
            self._writer.start()
            if self._exit_hook_pid != os.getpid():
                atexit.register(self.flush_and_stop)
                self._exit_hook_pid = os.getpid()
            self._pid = os.getpid()

    def _write(self) -> None:
        stream = self.target.stream
        pending = self._queue
        while True:
            lines = [pending.get()]
            while not pending.empty() and len(lines) < 1000:
                lines.append(pending.get_nowait())
            stopping = _STOP in lines
            try:
                stream.write("".join(line for line in lines if line is not _STOP))
                stream.flush()
            except (OSError, ValueError):
                pass  # a full disk must not stop the daemon; nothing to tell
            if stopping:
                return

    def flush_and_stop(self, timeout: float = 2.0) -> None:
        """Write what is queued (at exit); later records are written in place."""
        writer = self._writer
        if writer is None or self._pid != os.getpid() or not writer.is_alive():
            return
        self._queue.put(_STOP)
        writer.join(timeout)
        self._pid = None  # anything logged after this starts a new writer

    def close(self) -> None:
        self.flush_and_stop()
        super().close()
