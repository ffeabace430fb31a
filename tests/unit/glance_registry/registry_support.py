"""Helpers the registry's unit tests share: configuration and callers."""

from __future__ import annotations

import threading
from collections import Counter

from oslo_config import cfg

from glance_common.context import RequestContext
from glance_registry import options


def make_conf(db_url: str, **overrides) -> cfg.ConfigOpts:
    """A registry ConfigOpts on ``db_url`` that reads no files."""
    conf = cfg.ConfigOpts()
    options.register_opts(conf)
    conf([], project="glance", default_config_files=[])
    conf.set_override("connection", db_url, group="database")
    for key, value in overrides.items():
        conf.set_override(key, value)
    return conf


def headers(project: str | None = None, roles=(), user: str | None = "u1",
            **extra) -> dict[str, str]:
    """Context headers of a caller, asking for JSON errors."""
    ctx = RequestContext.build(user, project, roles)
    out = ctx.to_headers()
    out["Accept"] = "application/json"
    out.update(extra)
    return out


ADMIN = headers("admin-project", ["admin"], user="admin")
ALICE = headers("alice")  # an ordinary project
BOB = headers("bob")  # another ordinary project
NOBODY = headers(None, [], user=None)  # no project, no roles


def race(app, call, threads: int) -> Counter:
    """Run ``call(client, n)`` in ``threads`` threads released together; the
    tally of the status codes they got."""
    barrier = threading.Barrier(threads)
    codes, failures = [], []

    def run(n):
        client = app.test_client()
        barrier.wait()
        try:
            codes.append(call(client, n).status_code)
        except Exception as exc:  # surfaced below, never swallowed
            failures.append(exc)

    started = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join(60)
    assert not failures, failures
    return Counter(codes)




def bulk_images(rows: list[dict]) -> None:
    """Insert image rows straight through the models (fast set-up for lists)."""
    import peewee

    from glance_common.timestamps import utcnow
    from glance_registry.db import database
    from glance_registry.models import Image

    now = utcnow()
    full_rows = []
    for row in rows:
        values = {"status": "active", "visibility": "shared", "owner": "alice",
                  "created_at": now, "updated_at": now}
        values.update(row)
        full_rows.append(values)
    with database.connection_context():
        with database.atomic():
            for chunk in peewee.chunked(full_rows, 200):
                Image.insert_many(chunk).execute()
