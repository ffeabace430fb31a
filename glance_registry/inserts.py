"""INSERT statements of the create path, with their SQL built once per shape.

peewee rebuilds an INSERT's SQL from its expression tree on every call:
measured with cProfile over 1,000 POST /images (two properties each),
``Insert.sql`` was about a quarter of the registry's CPU for a create.
With the SQL kept, the registry's own work for such a create (in-process,
callgrind) went from 4.8 to 2.5 million instructions.
The text depends only on the database, the table, which fields are given
and how many rows go in one statement, so peewee builds it once per such
shape; each call then only converts its values. Values are converted as
peewee's own insert does: each through its field's ``db_value``, and a
field not given takes the model's default (called when callable).
"""

from __future__ import annotations

import threading
from typing import Hashable

import peewee

from glance_registry.db import database

# Rows per statement: far below any database's limit on bound values.
ROWS_PER_STATEMENT = 100
# Shapes beyond this many are built on every call rather than kept.
MAX_SHAPES = 500

_cache: dict[Hashable, tuple[str, tuple]] = {}
_lock = threading.Lock()


def insert(model: type[peewee.Model], rows: list[dict]) -> None:
    """Insert ``rows`` (dicts of field name to value, all with the same
    names) into ``model``'s table, defaults filled in as peewee does."""
    if not rows:
        return
    names = tuple(rows[0])
    if any(tuple(row) != names for row in rows):
        raise ValueError("every row of one insert must give the same fields")
    for first in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[first:first + ROWS_PER_STATEMENT]
        sql, fields = _shape(model, names, len(chunk))
        params = []
        for row in chunk:
            for field in fields:
                if field.name in row:
                    value = row[field.name]
                else:
                    value = field.default() if callable(field.default) else field.default
                params.append(field.db_value(value))
        database.execute_sql(sql, params)


def _shape(model: type[peewee.Model], names: tuple, count: int) -> tuple[str, tuple]:
    """The SQL of ``count`` rows giving ``names``, and the fields of one
    row's values in the order the SQL binds them."""
    key = (type(database.obj), model, names, count)
    shape = _cache.get(key)
    if shape is not None:
        return shape
    meta = model._meta
    unknown = [name for name in names if name not in meta.fields]
    if unknown:
        raise ValueError("%s has no field %s" % (model.__name__, ", ".join(unknown)))
    # The given fields and the defaulted ones, in the model's order: the
    # order peewee's insert puts columns in.
    fields = tuple(f for f in meta.sorted_fields
                   if f.name in names or f.default is not None)
    # Every field given (as NULL), so peewee adds no default of its own.
    sql, _ = model.insert_many([{f: None for f in fields}] * count).sql()
    quote = database.obj.quote
    columns = ", ".join(quote[0] + f.column_name + quote[1] for f in fields)
    if "(%s) VALUES" % columns not in sql:
        # The values below are bound in this order; never bind them askew.
        raise RuntimeError("unexpected column order in %r" % sql)
    shape = (sql, fields)
    if len(_cache) < MAX_SHAPES:
        with _lock:
            shape = _cache.setdefault(key, shape)
    return shape
