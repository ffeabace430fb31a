"""Image rows for reading: the columns as attributes, without a model's cost.

A list page holds dozens of images; making a peewee model instance of each
(every column through its field's converter and descriptor) cost more than
running the query. Read-only paths take ImageRow instead, converting only
the columns whose stored value is not already the Python value (datetimes
and booleans, on SQLite).
"""

from __future__ import annotations

from typing import Any

import peewee

from glance_registry.db import database
from glance_registry.models import Image

_CONVERTERS = {name: field.python_value
               for name, field in Image._meta.columns.items()
               if isinstance(field, (peewee.DateTimeField, peewee.BooleanField))}


class ImageRow:
    """One image's columns as attributes; read it, do not save it."""

    def __init__(self, columns: dict[str, Any]):
        self.__dict__ = columns

    def __repr__(self) -> str:
        return "<ImageRow %s>" % self.__dict__.get("id")


def select_images(sql: str, params: list) -> list[ImageRow]:
    """Run a SELECT of image columns; one ImageRow per row."""
    cursor = database.execute_sql(sql, params)
    names = [column[0] for column in cursor.description]
    convert = [(i, _CONVERTERS[name]) for i, name in enumerate(names)
               if name in _CONVERTERS]
    rows = []
    for values in cursor.fetchall():
        if convert:
            values = list(values)
            for i, python_value in convert:
                if values[i] is not None:
                    values[i] = python_value(values[i])
        rows.append(ImageRow(dict(zip(names, values, strict=True))))
    return rows
