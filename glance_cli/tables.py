"""The tables the classic client printed, column names and all."""

from __future__ import annotations

from typing import Any
from typing import Iterable
from typing import Mapping

import prettytable

LIST_COLUMNS = ("ID", "Name", "Disk Format", "Container Format", "Size", "Status")
LIST_FIELDS = ("id", "name", "disk_format", "container_format", "size", "status")
MEMBER_COLUMNS = ("Image ID", "Member ID", "Can Share")
SIZE_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB")
# Never shown: where the bytes live may carry store credentials.
HIDDEN_FIELDS = ("location", "location_data", "locations")
# glanceclient's default for image-show --max-column-width.
DEFAULT_MAX_WIDTH = 80


def human_size(size: Any) -> str:
    """A byte count in powers of 1024 with one decimal at most: 1.5GB, 300kB, 0B."""
    try:
        value = float(size or 0)
    except (TypeError, ValueError):
        return str(size)
    unit = 0
    while value >= 1024 and unit < len(SIZE_UNITS) - 1:
        value /= 1024
        unit += 1
    text = ("%.1f" % value).rstrip("0").rstrip(".")
    return text + SIZE_UNITS[unit]


def image_table(image: Mapping[str, Any], human_readable: bool = False,
                max_width: int = DEFAULT_MAX_WIDTH) -> str:
    """A ``Property | Value`` table: every field, then ``Property 'k'`` rows."""
    rows = {}
    for key, value in image.items():
        if key == "properties" or key in HIDDEN_FIELDS:
            continue
        if key == "size" and human_readable:
            value = human_size(value)
        rows[key] = value
    for key, value in (image.get("properties") or {}).items():
        rows["Property '%s'" % key] = value
    return property_table(rows, max_width)


def property_table(rows: Mapping[str, Any], max_width: int = DEFAULT_MAX_WIDTH) -> str:
    """A ``Property | Value`` table sorted by property, values wrapped at ``max_width``."""
    table = _table(("Property", "Value"))
    table.max_width = max_width
    for key in sorted(rows):
        table.add_row([key, _cell(rows[key])])
    return table.get_string()


def list_table(columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    """A left-aligned table with a header line; a None cell prints blank."""
    table = _table(columns)
    for row in rows:
        table.add_row(["" if value is None else _cell(value) for value in row])
    return table.get_string()


def images_table(images: Iterable[Mapping[str, Any]], human_readable: bool = False) -> str:
    """The ``image-list`` table."""
    table = _table(LIST_COLUMNS)
    for image in images:
        row = [image.get(field) for field in LIST_FIELDS]
        if human_readable:
            row[4] = human_size(row[4])
        table.add_row([_cell(value) for value in row])
    return table.get_string()


def members_table(members: Iterable[Mapping[str, Any]]) -> str:
    """The ``member-list`` table; a member who cannot share shows a blank."""
    table = _table(MEMBER_COLUMNS)
    for member in members:
        table.add_row([member["image_id"], member["member_id"],
                       "True" if member.get("can_share") else ""])
    return table.get_string()


def _table(columns: Iterable[str]) -> prettytable.PrettyTable:
    table = prettytable.PrettyTable(list(columns))
    table.align = "l"
    return table


def _cell(value: Any) -> str:
    # The classic client showed a null as "None"; keep it so habits carry over.
    return str(value)
