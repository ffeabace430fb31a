"""Log lines written by a listener thread: each with its request id, none lost."""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
import types

import flask
import pytest
from gunicorn.config import Config

from glance_common import server
from glance_common.log_writer import QueueWriter
from glance_common.request_id import LogFilter
from tests.waiting import poll_until

LINE = re.compile(r"^\S+ \S+ (?P<pid>\d+) INFO \S+ \[(?P<request_id>[^]]+)\] (?P<message>.*)$")


def parsed(path):
    """(pid, request id, message) of every line in the log file."""
    return [LINE.match(line).group("pid", "request_id", "message")
            for line in path.read_text().splitlines()]


def messages(path):
    return [message for _, _, message in parsed(path)]


def exit_code(pid, timeout):
    """The forked child's exit code; kills it and fails the test if it hangs."""
    status = []

    def exited():
        done, code = os.waitpid(pid, os.WNOHANG)
        status.append(code)
        return done != 0

    if not poll_until(exited, timeout):
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung")
    return os.waitstatus_to_exitcode(status[-1])


@pytest.fixture
def root_logging(tmp_path):
    """The daemon's logging set up on the root logger; put back afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    conf = types.SimpleNamespace(log_file=str(tmp_path / "daemon.log"), debug=False)
    server.setup_logging(conf)
    (writer,) = root.handlers
    yield writer, tmp_path / "daemon.log"
    writer.close()
    root.handlers[:], level = saved
    root.setLevel(level)


@pytest.fixture
def logger(tmp_path):
    """A logger of its own writing through a started QueueWriter."""
    target = logging.FileHandler(tmp_path / "daemon.log")
    target.setFormatter(logging.Formatter(server.LOG_FORMAT))
    writer = QueueWriter(target)
    writer.addFilter(LogFilter())
    log = logging.getLogger("test-log-writer-%s" % tmp_path.name)
    log.propagate = False
    log.handlers[:] = [writer]
    log.setLevel(logging.INFO)
    writer.start()
    yield log, writer, tmp_path / "daemon.log"
    writer.close()


def test_every_line_from_many_requests_is_written_once_with_its_request_id(logger):
    log, writer, path = logger
    app = flask.Flask(__name__)

    def request(n):
        with app.test_request_context():
            flask.g.request_id = "req-%d" % n
            for i in range(500):
                log.info("request %d line %d", n, i)

    threads = [threading.Thread(target=request, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.info("outside any request")
    writer.stop()

    lines = parsed(path)
    assert len(lines) == 8 * 500 + 1
    assert len(set(lines)) == len(lines)
    for _, request_id, message in lines[:-1]:
        assert request_id == "req-%s" % message.split()[1]
    assert lines[-1][1:] == ("-", "outside any request")


def test_a_line_reaches_the_file_while_the_writer_runs(logger):
    log, _, path = logger
    log.info("idle daemon")
    assert poll_until(lambda: messages(path) == ["idle daemon"], timeout=5)


def test_lines_logged_while_stopped_are_written_in_place(logger):
    log, writer, path = logger
    log.info("queued")
    writer.stop()
    log.info("in place")
    assert messages(path) == ["queued", "in place"]
    writer.start()
    log.info("queued again")
    writer.stop()
    assert messages(path) == ["queued", "in place", "queued again"]


@pytest.mark.filterwarnings("ignore:.*fork")  # threads are alive in pytest
def test_a_forked_child_loses_nothing_and_does_not_hang(logger):
    log, writer, path = logger
    for i in range(1000):  # keeps the writer busy until it is stopped
        log.info("parent before fork %d", i)
    writer.stop()  # as pre_fork does
    pid = os.fork()
    if pid == 0:
        try:
            writer.start()  # as post_fork does
            log.info("child")
            writer.stop()  # as worker_exit does
        finally:
            os._exit(0)
    writer.start()  # the parent's own thread again
    log.info("parent after fork")
    assert exit_code(pid, timeout=10) == 0
    writer.stop()

    lines = parsed(path)
    assert [m for _, _, m in lines[:1000]] == ["parent before fork %d" % i for i in range(1000)]
    assert sorted(m for _, _, m in lines[1000:]) == ["child", "parent after fork"]
    assert {p for p, _, m in lines if m == "child"} == {str(pid)}


def test_the_gunicorn_hooks_wrap_the_callers_hooks(root_logging):
    writer, path = root_logging
    log = logging.getLogger("glance.test")
    called = []

    def post_fork(_server, _worker):
        called.append(("post_fork", writer.running))
        log.info("from the caller's post_fork")

    def worker_exit(_server, _worker):
        called.append(("worker_exit", writer.running))
        log.info("from the caller's worker_exit")

    conf = types.SimpleNamespace(
        bind_host="127.0.0.1", bind_port=0, workers=1, threads=1, client_socket_timeout=5,
        log_file=str(path), debug=False, cert_file=None, key_file=None)
    cfg = Config()  # gunicorn checks each hook's arity as it is set
    for key, value in server.gunicorn_settings(
            conf, {"post_fork": post_fork, "worker_exit": worker_exit}).items():
        cfg.set(key, value)

    log.info("from the master")
    cfg.pre_fork(None, None)
    assert not writer.running
    assert messages(path) == ["from the master"]
    cfg.post_fork(None, None)
    assert writer.running
    for i in range(200):
        log.info("request line %d", i)
    cfg.worker_exit(None, None)

    assert called == [("post_fork", True), ("worker_exit", True)]
    assert not writer.running
    assert messages(path) == (["from the master", "from the caller's post_fork"]
                              + ["request line %d" % i for i in range(200)]
                              + ["from the caller's worker_exit"])


def test_worker_exit_stops_the_writer_even_when_the_callers_hook_fails(root_logging):
    writer, path = root_logging

    def worker_exit(_server, _worker):
        logging.getLogger("glance.test").info("last words")
        raise RuntimeError("notifier gone")

    settings = server.gunicorn_settings(types.SimpleNamespace(
        bind_host="127.0.0.1", bind_port=0, workers=1, threads=1, client_socket_timeout=5,
        log_file=None, debug=False, cert_file=None, key_file=None),
        {"worker_exit": worker_exit})
    with pytest.raises(RuntimeError):
        settings["worker_exit"](None, None)
    assert not writer.running
    assert messages(path) == ["last words"]


def test_setup_logging_again_closes_the_previous_writer(root_logging, tmp_path):
    first, _ = root_logging
    server.setup_logging(types.SimpleNamespace(log_file=str(tmp_path / "other.log"),
                                               debug=False))
    (second,) = logging.getLogger().handlers
    try:
        assert second is not first and not first.running and second.running
    finally:
        second.close()


def test_debug_logging_never_writes_sql_parameters(root_logging, tmp_path):
    # Peewee logs each query with its parameters (location URLs with
    # credentials among them) at DEBUG.
    first, _ = root_logging
    path = tmp_path / "debug.log"
    server.setup_logging(types.SimpleNamespace(log_file=str(path), debug=True))
    (writer,) = logging.getLogger().handlers
    try:
        logging.getLogger("peewee").debug("('SELECT ...', ['swift://u:secret@h/c/o'])")
        logging.getLogger("glance_registry").debug("a debug line")
    finally:
        writer.close()
    assert not first.running
    text = path.read_text()
    assert "a debug line" in text and "secret" not in text
