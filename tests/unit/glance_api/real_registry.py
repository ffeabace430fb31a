"""A real glance-registry app served over HTTP on 127.0.0.1 in a thread, for
unit tests of the registry client and of handlers that want the real records."""

from __future__ import annotations

import contextlib
import threading
from typing import Iterator

from werkzeug.serving import make_server

from glance_api.registry_client import RegistryClient
from glance_registry import db
from glance_registry import migrations
from glance_registry import options
from glance_registry.app import create_app


def sqlite_url(directory) -> str:
    """A migrated SQLite registry database in ``directory``."""
    url = "sqlite:///%s" % (directory / "registry.sqlite")
    database = db.make_database(url)
    migrations.sync(database)
    db.close_all(database)
    return url


@contextlib.contextmanager
def serve(db_url: str) -> Iterator[RegistryClient]:
    """A RegistryClient of a registry (noauth) on ``db_url``, for the block."""
    from oslo_config import cfg

    conf = cfg.ConfigOpts()
    options.register_opts(conf)
    conf([], project="glance", default_config_files=[])
    conf.set_override("connection", db_url, group="database")
    app = create_app(conf)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = RegistryClient("http://127.0.0.1:%d" % server.server_port, timeout=10.0)
    try:
        yield client
    finally:
        client.close()
        server.shutdown()
        server.server_close()
        db.close_all(db.database.obj)


def wipe() -> None:
    """Remove every task and image row of the registry being served."""
    from glance_registry.models import ALL_MODELS
    from glance_registry.models import CHILD_MODELS
    from glance_registry.models import Task

    with db.database.connection_context():
        for model in CHILD_MODELS + tuple(m for m in ALL_MODELS if m not in CHILD_MODELS) + (Task,):
            model.delete().execute()
