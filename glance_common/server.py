"""Run a Flask app under gunicorn's threaded worker, configured from oslo.config."""

from __future__ import annotations

import logging
import os
import sys
from typing import Callable

from gunicorn.app.base import BaseApplication

from glance_common.log_writer import QueueWriter
from glance_common.request_id import LogFilter

SHM = "/dev/shm"  # memory-backed; gunicorn's heartbeat files go here
LOG_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s [%(request_id)s] %(message)s"


def setup_logging(conf) -> None:
    """Log to ``log_file`` or stderr, every line carrying the request id.

    Lines are written by a thread started here (``log_writer``); under
    gunicorn, ``gunicorn_settings`` stops it before each fork and gives
    every worker its own.
    """
    target = (logging.FileHandler(conf.log_file) if conf.log_file
              else logging.StreamHandler(sys.stderr))
    target.setFormatter(logging.Formatter(LOG_FORMAT))
    handler = QueueWriter(target)
    handler.addFilter(LogFilter())
    root = logging.getLogger()
    for old in _log_writers():
        old.close()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if conf.debug else logging.INFO)
    # Peewee's DEBUG lines carry every query's parameters: location URLs
    # with their credentials, among others. They never reach a log.
    logging.getLogger("peewee").setLevel(logging.INFO)
    handler.start()


class _Gunicorn(BaseApplication):
    def __init__(self, load_app: Callable, settings: dict):
        self._load_app = load_app
        self._settings = settings
        super().__init__()

    def load_config(self):
        for key, value in self._settings.items():
            self.cfg.set(key, value)

    def load(self):
        return self._load_app()


def gunicorn_settings(conf, hooks: dict | None = None) -> dict:
    """Translate the daemon's options into gunicorn settings."""
    settings = {
        "bind": ["%s:%d" % (_bracket(conf.bind_host), conf.bind_port)],
        "worker_class": "gthread",
        "workers": conf.workers,
        "threads": conf.threads,
        "keepalive": conf.client_socket_timeout,
        # Uploads of many GiB keep a thread busy for minutes; the worker's
        # main loop still heartbeats, so this only catches a hung worker.
        "timeout": 120,
        "graceful_timeout": 30,
        "preload_app": True,
        "control_socket_disable": True,
        "accesslog": None,
        "errorlog": conf.log_file or "-",
        "loglevel": "debug" if conf.debug else "info",
        "proc_name": None,
        "forwarded_allow_ips": "127.0.0.1,::1",
    }
    if os.path.isdir(SHM):
        # Each worker heartbeats by changing its temporary file's times
        # once per loop, i.e. about once per request; on a disk the file
        # system journals every such change (gunicorn's own advice).
        settings["worker_tmp_dir"] = SHM
    if conf.cert_file or conf.key_file:
        settings["certfile"] = conf.cert_file
        settings["keyfile"] = conf.key_file
    settings.update(hooks or {})
    # The log writer's thread must not be mid-write when the master forks:
    # it is stopped before the first fork, and the master writes its few
    # later lines in place. Each worker runs its own thread from its first
    # moment and writes out everything queued as it exits.
    settings["pre_fork"] = _then_stop_log_writers(settings.get("pre_fork"))
    settings["post_fork"] = _after_starting_log_writers(settings.get("post_fork"))
    settings["worker_exit"] = _then_stop_log_writers(settings.get("worker_exit"))
    return settings


def _log_writers() -> list[QueueWriter]:
    return [h for h in logging.getLogger().handlers if isinstance(h, QueueWriter)]


def _after_starting_log_writers(hook: Callable | None) -> Callable:
    def run(server, worker):
        for writer in _log_writers():
            writer.start()
        if hook is not None:
            hook(server, worker)
    return run


def _then_stop_log_writers(hook: Callable | None) -> Callable:
    def run(server, worker):
        try:
            if hook is not None:
                hook(server, worker)
        finally:
            for writer in _log_writers():
                writer.stop()
    return run


def serve(load_app: Callable, conf, hooks: dict | None = None) -> None:
    """Serve the app made by ``load_app()`` in the foreground until a signal stops it."""
    sys.argv = sys.argv[:1]  # gunicorn must not parse our oslo.config arguments
    _Gunicorn(load_app, gunicorn_settings(conf, hooks)).run()


def _bracket(host: str) -> str:
    return "[%s]" % host if ":" in host and not host.startswith("[") else host
