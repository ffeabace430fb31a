"""``glance-manage db import-glance``: read a Glance database, sync this one.

The registry database must be bound (``glance_registry.db``) and at the
newest schema. Each image is its own transaction, so an interrupted run
leaves whole images behind and the next run finishes the job.
"""

from __future__ import annotations

from glance_registry.glance_import import image_writer
from glance_registry.glance_import import locations
from glance_registry.glance_import.mapping import IN_FLIGHT
from glance_registry.glance_import.mapping import wanted
from glance_registry.glance_import.metadef_writer import sync_metadefs
from glance_registry.glance_import.report import Report
from glance_registry.glance_import.source import GlanceDatabase
from glance_registry.glance_import.source import redact_url

CHILD_KINDS = ("properties", "tags", "members", "locations")


def import_glance(url: str, dry_run: bool = False) -> Report:
    """Import the Glance database at ``url`` into the bound registry database."""
    source = GlanceDatabase.open(url)
    try:
        return _import(source, url, dry_run)
    finally:
        source.close()


def _import(source: GlanceDatabase, url: str, dry_run: bool) -> Report:
    report = Report(redact_url(url), source.schema.release, dry_run)
    served = locations.served_schemes()
    for rows in source.image_batches(source.image_ids()):
        image = wanted(rows, served)
        outcome = image_writer.sync_image(image, apply=not dry_run)
        report.outcomes[outcome.value] += 1
        report.statuses[image.status] += 1
        for kind in CHILD_KINDS:
            report.children[kind] += sum(
                1 for entry in image.children[kind].values() if not entry["deleted"])
        report.unservable.extend(image.unservable)
        if image.status in IN_FLIGHT and not image.image["deleted"]:
            report.in_flight.append(image.id)
    report.metadefs = sync_metadefs(source, apply=not dry_run)
    report.not_carried = {
        "tasks (Glance's task history stays in its database)":
            source.count("tasks", "WHERE deleted = %s" % _false(source)),
    }
    return report


def _false(source: GlanceDatabase) -> str:
    return "false" if source.kind == "postgresql" else "0"
