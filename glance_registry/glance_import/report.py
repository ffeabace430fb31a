"""What an import did (or, in a dry run, would do), as an operator reads it."""

from __future__ import annotations

import dataclasses
from collections import Counter

from glance_registry.glance_import.mapping import Unservable
from glance_registry.glance_import.metadef_writer import MetadefCounts

LIST_LIMIT = 50  # listed one per line; the rest are counted


@dataclasses.dataclass
class Report:
    """Counts by outcome and kind, and everything that needs a look."""

    source: str
    release: str
    dry_run: bool
    outcomes: Counter = dataclasses.field(default_factory=Counter)
    statuses: Counter = dataclasses.field(default_factory=Counter)
    children: Counter = dataclasses.field(default_factory=Counter)
    unservable: list[Unservable] = dataclasses.field(default_factory=list)
    in_flight: list[str] = dataclasses.field(default_factory=list)
    metadefs: MetadefCounts = dataclasses.field(default_factory=MetadefCounts)
    not_carried: dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def changed(self) -> int:
        """Images created or updated."""
        return self.outcomes["created"] + self.outcomes["updated"]

    def lines(self) -> list[str]:
        """The report, one line a fact."""
        verb = "would be" if self.dry_run else "were"
        out = ["Glance database: %s" % self.source,
               "Glance schema: %s" % self.release,
               "Images: %d read; %d %s created, %d %s updated, %d unchanged" % (
                   sum(self.outcomes.values()), self.outcomes["created"], verb,
                   self.outcomes["updated"], verb, self.outcomes["unchanged"])]
        if self.statuses:
            out.append("  by status: " + ", ".join(
                "%s %d" % (s, n) for s, n in sorted(self.statuses.items())))
        if self.children:
            out.append("  carried with them: " + ", ".join(
                "%d %s" % (n, kind) for kind, n in sorted(self.children.items())))
        if self.statuses.get("deleted"):
            out.append("  deleted images are kept as ids only, so no new image "
                       "can take an id Nova or Cinder once knew")
        m = self.metadefs
        out.append("Metadata definitions: %d namespaces %s created, %d %s updated, "
                   "%d unchanged; %d resource types %s created" % (
                       m.created, verb, m.updated, verb, m.unchanged,
                       m.resource_types_created, verb))
        out += self._warnings()
        if self.dry_run:
            out.append("Dry run: nothing was written.")
        return out

    def _warnings(self) -> list[str]:
        out = []
        if self.unservable:
            out.append("Cannot be served here (kept as they are; downloads of "
                       "these images are refused until a store can read them): "
                       "%d locations" % len(self.unservable))
            for item in self.unservable[:LIST_LIMIT]:
                out.append("  image %s: %s (%s)" % (item.image_id, item.url, item.reason))
            if len(self.unservable) > LIST_LIMIT:
                out.append("  ... and %d more" % (len(self.unservable) - LIST_LIMIT))
        if self.in_flight:
            out.append("Uploads or imports under way in Glance (stop glance-api and "
                       "run the import again before switching): %d images"
                       % len(self.in_flight))
            for image_id in self.in_flight[:LIST_LIMIT]:
                out.append("  image %s" % image_id)
        for what, count in sorted(self.not_carried.items()):
            if count:
                out.append("Not carried: %d %s" % (count, what))
        return out
