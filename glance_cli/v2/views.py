"""How v2 commands print: the tables glanceclient 4 prints, column names and all."""

from __future__ import annotations

import json
from typing import Any
from typing import Iterable
from typing import Mapping

from glance_cli import tables

# Links, not facts about the image: glanceclient leaves them out too.
LINK_FIELDS = ("self", "access", "file", "schema")
MEMBER_COLUMNS = ("Image ID", "Member ID", "Status")


def image(record: Mapping[str, Any], human_readable: bool = False,
          max_width: int = tables.DEFAULT_MAX_WIDTH) -> str:
    """One image as ``Property | Value``; lists and objects as JSON."""
    rows = {key: _value(value) for key, value in record.items()
            if key not in LINK_FIELDS and key not in tables.HIDDEN_FIELDS}
    if "virtual_size" in rows:
        rows["virtual_size"] = record.get("virtual_size") or "Not available"
    if human_readable and "size" in rows:
        rows["size"] = tables.human_size(record.get("size"))
    return tables.property_table(rows, max_width)


def listing(records: Iterable[Mapping[str, Any]], columns: Iterable[str]) -> str:
    """A list table; each column shows the field of its lower-cased, underscored name."""
    columns = list(columns)
    fields = [column.lower().replace(" ", "_") for column in columns]
    return tables.list_table(columns, ([_cell(record.get(field)) for field in fields]
                                       for record in records))


def members(records: Iterable[Mapping[str, Any]]) -> str:
    """The member table: ``Image ID | Member ID | Status``."""
    return listing(records, MEMBER_COLUMNS)


def properties(record: Mapping[str, Any]) -> str:
    """Any document as ``Property | Value``; lists and objects as JSON."""
    return tables.property_table({key: _value(value) for key, value in record.items()})


def _value(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


def _cell(value: Any) -> Any:
    # A list cell: glanceclient leaves blanks for empty or null fields.
    if value is None or value == "" or value == []:
        return ""
    return _value(value)
