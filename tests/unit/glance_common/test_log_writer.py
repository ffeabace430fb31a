"""Log lines written by a writer thread: none lost, each with its own context."""

from __future__ import annotations

import logging
import os
import threading

import pytest

from glance_common.log_writer import QueuedHandler


@pytest.fixture
def logger(tmp_path):
    target = logging.FileHandler(tmp_path / "daemon.log")
    target.setFormatter(logging.Formatter("%(threadName)s %(message)s"))
    handler = QueuedHandler(target)
    log = logging.getLogger("test-log-writer-%s" % tmp_path.name)
    log.propagate = False
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    yield log, handler, tmp_path / "daemon.log"
    handler.close()
    target.close()


def test_every_line_from_many_threads_is_written_once(logger):
    log, handler, path = logger

    def burst(n):
        for i in range(500):
            log.info("thread %d line %d", n, i)

    threads = [threading.Thread(target=burst, args=(n,), name="t%d" % n)
               for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    handler.flush_and_stop()

    lines = path.read_text().splitlines()
    assert len(lines) == 8 * 500
    assert len(set(lines)) == 8 * 500
    # Formatted in the logging thread, not the writer's.
    assert all(line.startswith("t%s " % line.split()[2]) for line in lines)


def test_logging_after_a_flush_starts_a_new_writer(logger):
    log, handler, path = logger
    log.info("before")
    handler.flush_and_stop()
    log.info("after")
    handler.flush_and_stop()
    assert [line.split()[-1] for line in path.read_text().splitlines()] == [
        "before", "after"]


@pytest.mark.filterwarnings("ignore:Using fork")  # eventlet, imported by others
def test_a_forked_child_writes_its_own_lines(logger):
    log, handler, path = logger
    log.info("parent before fork")
    handler.flush_and_stop()
    pid = os.fork()
    if pid == 0:
        try:
            log.info("child")
            handler.flush_and_stop()
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    log.info("parent after fork")
    handler.flush_and_stop()
    messages = [line.split(" ", 1)[1] for line in path.read_text().splitlines()]
    assert sorted(messages) == ["child", "parent after fork", "parent before fork"]
