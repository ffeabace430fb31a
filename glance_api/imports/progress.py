"""The reserved properties that tell clients how an import is going (spec 9.3).

While an import runs the image carries ``os_glance_import_task`` (the task's
id) and ``os_glance_importing_to_stores`` (the stores still to write, comma
separated); ``os_glance_failed_import`` lists the stores that failed. When
the import ends the first two are emptied.
"""

from __future__ import annotations

from typing import Iterable

IMPORT_TASK = "os_glance_import_task"
IMPORTING_TO = "os_glance_importing_to_stores"
FAILED_IMPORT = "os_glance_failed_import"
# The api node whose staging area holds a glance-direct image's data.
STAGE_HOST = "os_glance_stage_host"


def joined(stores: Iterable[str]) -> str:
    """Store ids as Glance writes them in a property: comma separated."""
    return ",".join(stores)


def split(value: str | None) -> list[str]:
    """The store ids of a property value."""
    return [s for s in (value or "").split(",") if s]


def started(task_id: str, targets: Iterable[str]) -> dict:
    """The properties of an image whose import was just accepted."""
    return {IMPORT_TASK: task_id, IMPORTING_TO: joined(targets), FAILED_IMPORT: ""}


def ended(failed: Iterable[str]) -> dict:
    """The properties of an image whose import is over."""
    return {IMPORTING_TO: "", FAILED_IMPORT: joined(failed)}


def cut_short(properties: dict) -> dict:
    """The properties of an image whose import stopped midway: the stores it
    still had to write count as failed too."""
    return ended(split(properties.get(IMPORTING_TO)) + split(properties.get(FAILED_IMPORT)))
