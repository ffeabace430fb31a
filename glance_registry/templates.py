"""SQL of the hottest queries, built by peewee once per shape, then reused.

Building SQL is most of what a registry read costs: peewee walks its
expression tree on every call (about 1 ms for an image lookup with the
visibility condition). The text of such a query depends only on its shape
(the database, whether the caller is an admin, whether it has a project);
the values change per call. So each shape is built once with placeholder
values, and later calls only put the real values in their slots.
"""

from __future__ import annotations

import threading
from typing import Callable
from typing import Hashable

import peewee

from glance_registry.db import database


class Slot(str):
    """A placeholder value; the real value is bound per call."""


# Shapes are few in practice, but callers choose some of them (how many
# values a repeated filter has), so the cache is capped; a shape beyond
# the cap is built on every call instead of growing memory without end.
MAX_TEMPLATES = 2000

_cache: dict[Hashable, tuple[str, list]] = {}
_lock = threading.Lock()


def bind(key: Hashable, build: Callable[[], peewee.Query],
         values: dict[str, object]) -> tuple[str, list]:
    """The (sql, params) of ``build()`` with each Slot replaced from ``values``.

    ``build`` must use ``Slot(name)`` wherever a per-call value goes, and
    ``key`` must name everything else the query's text depends on.
    """
    full_key = (type(database.obj), key)
    template = _cache.get(full_key)
    if template is None:
        template = build().sql()
        if len(_cache) < MAX_TEMPLATES:
            with _lock:
                template = _cache.setdefault(full_key, template)
    sql, params = template
    return sql, [values[p] if isinstance(p, Slot) else p for p in params]


def in_list(count: int) -> str:
    """``(?, ?, ...)`` for ``count`` values in the bound database's style."""
    return "(%s)" % ", ".join([database.obj.param] * count)
