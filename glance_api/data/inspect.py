"""Format inspection: what an image's bytes really are, judged while they stream.

A disk image can point outside itself: a qcow2 with a backing file or an
external data file, a VMDK whose descriptor names a parent or extents in
other files. A hypervisor that opens such an image reads whatever file it
names, on the compute host. So before an upload becomes ``active``, the
bytes are shown to every format inspector oslo.utils maintains
(``oslo_utils.imageutils.format_inspector``) and refused when

- they are not the ``disk_format`` they are labelled with (``[image_format]
  require_image_format_match``; spec v2 section 5.1): ``raw`` and the
  formats no inspector reads (``ami``, ``ari``, ``aki``, ``ploop``) accept
  anything, and a ``container_format`` other than ``bare`` skips this one
  check, since the bytes are then the container;
- the detected format fails the inspector's own safety checks, or ours for
  VMDK (create type in ``[image_format] vmdk_allowed_types``, one sparse
  extent in this very file, no parent);
- they match two formats at once (a hybrid ISO, ISO plus GPT, is the one
  pair taken as ISO): one header hidden in another is how the tricks work.

``InspectingStream`` sits in the upload's reader stack (data.upload), so a
refusal is an exception raised while the store reads: the store removes
what it wrote and the uploader applies the failure policy. The verdict is
given when the stream ends, before the store sees its end and so before it
can commit; a refusal is also given as soon as every inspector has seen the
headers it needs (a few hundred KiB at most), so a hostile 20 GB upload is
not stored first. Memory stays bounded: inspectors keep only their capture
regions (the largest, a VMDK descriptor, at most 1 MiB), and nothing is
read twice.

Deviation from oslo.utils' own streaming ``InspectWrapper``: this module
drives the same inspectors (``ALL_FORMATS``) itself, because the wrapper's
``format`` calls every inspector's ``format_match`` unguarded, and the
VMDK inspector raises ``AttributeError`` there for a text header followed
by non-ASCII bytes (a 500 for the client); and because the wrapper only
learns of the end of a ``read()`` stream from ``close()``, which also
closes the source. Any exception an inspector raises on the hostile bytes
it parses is taken as "cannot vouch for this image": the inspector is left
out of the detection, and if it is the detected format the image is refused.
"""

from __future__ import annotations

import dataclasses
import logging
import struct

from oslo_utils.imageutils import format_inspector

from glance_api.exceptions import BadRequest
from glance_api.exceptions import ImageRefused
from glance_common import formats

LOG = logging.getLogger(__name__)

UNINSPECTED = ("ami", "ari", "aki", "ploop")
"""disk_formats whose bytes are not checked: no inspector reads them."""

BACKED_FORMATS = ("qcow2", "vmdk")
"""Formats whose headers can make qemu read other files (CVE-2024-32498's
family). ``raw`` takes any bytes, as Glance does, except these when they
fail their safety checks: a compute host that inspects what it boots would
otherwise follow the backing file of an image that only claims to be raw."""

VMDK_TYPES = ("monolithicSparse", "streamOptimized")
"""The VMDK create types the inspector accepts at all; a single file each."""


@dataclasses.dataclass(frozen=True)
class FormatRules:
    """The ``[image_format]`` options, read once."""

    require_match: bool = True
    vmdk_allowed_types: tuple[str, ...] = VMDK_TYPES
    disk_formats: tuple[str, ...] = formats.DISK_FORMATS
    container_formats: tuple[str, ...] = formats.CONTAINER_FORMATS

    @classmethod
    def from_conf(cls, conf) -> FormatRules:
        """The rules ``[image_format]`` sets."""
        group = conf.image_format
        return cls(require_match=group.require_image_format_match,
                   vmdk_allowed_types=tuple(group.vmdk_allowed_types),
                   disk_formats=tuple(group.disk_formats),
                   container_formats=tuple(group.container_formats))

    def check_allowed(self, fields: dict) -> None:
        """400 for a disk or container format this deployment does not take."""
        disk, container = fields.get("disk_format"), fields.get("container_format")
        if disk is not None and disk not in self.disk_formats:
            raise BadRequest("Invalid disk format '%s' for image." % disk)
        if container is not None and container not in self.container_formats:
            raise BadRequest("Invalid container format '%s' for image." % container)


DEFAULT_RULES = FormatRules()


def check_allowed_formats(conf, fields: dict) -> None:
    """400 for a format ``[image_format] disk_formats``/``container_formats`` leave out."""
    FormatRules.from_conf(conf).check_allowed(fields)


@dataclasses.dataclass(frozen=True)
class Inspected:
    """What the bytes turned out to be."""

    format: str
    virtual_size: int | None


class Detector:
    """Every inspector oslo.utils has, fed the same chunks; says what matched."""

    def __init__(self) -> None:
        self._inspectors = [cls() for cls in format_inspector.ALL_FORMATS.values()]
        self._failed: set[format_inspector.FileInspector] = set()
        self._finished = False
        self.bytes_seen = 0

    def feed(self, chunk: bytes) -> None:
        """Show the next chunk of the stream to every inspector still reading."""
        self.bytes_seen += len(chunk)
        for inspector in self._inspectors:
            if inspector in self._failed:
                continue
            try:
                inspector.eat_chunk(chunk)
            except Exception as exc:  # a parser of hostile bytes: see the module doc
                LOG.debug("The %s inspector gave up: %s", inspector, exc)
                self._failed.add(inspector)

    def finish(self) -> None:
        """The stream ended: regions kept from the end are now complete."""
        self._finished = True
        for inspector in self._inspectors:
            inspector.finish()

    @property
    def decided(self) -> bool:
        """Whether every inspector has seen what it needs (always, once finished)."""
        return self._finished or all(
            i.complete for i in self._inspectors if i not in self._failed)

    @property
    def held(self) -> int:
        """Bytes the inspectors keep: their capture regions, never the stream."""
        return sum(sum(i.context_info.values()) for i in self._inspectors)

    def matches(self) -> list[format_inspector.FileInspector]:
        """The formats other than raw that the bytes match; empty means raw."""
        found = []
        for inspector in self._inspectors:
            if inspector.NAME == "raw":
                continue
            try:
                if inspector.format_match:
                    found.append(inspector)
            except Exception as exc:  # as in feed(): it cannot vouch for a match
                LOG.debug("The %s inspector cannot tell a match: %s", inspector, exc)
        return found

    def raw(self) -> format_inspector.FileInspector:
        """The raw inspector: what the bytes are when nothing else matched."""
        return next(i for i in self._inspectors if i.NAME == "raw")


def judge(detector: Detector, disk_format: str, container_format: str | None,
          rules: FormatRules) -> Inspected:
    """The verdict on bytes labelled ``disk_format``; ImageRefused if they may not be stored."""
    if disk_format == "raw":
        return _judge_raw(detector, rules)
    detected = _detected(detector)
    name = detected.NAME
    if rules.require_match and container_format == "bare" and name != disk_format:
        raise ImageRefused("Image disk_format %s does not match stream data %s"
                           % (disk_format, name), mismatch=True)
    why = _unsafe(detected, rules)
    if why:
        raise ImageRefused("Image failed safety checks: %s" % why)
    if name == "raw":
        return Inspected(name, detector.bytes_seen)
    return Inspected(name, _virtual_size(detected))


def _judge_raw(detector: Detector, rules: FormatRules) -> Inspected:
    """Raw takes any bytes, but not a qcow2 or vmdk that fails its safety checks."""
    for inspector in detector.matches():
        if inspector.NAME in BACKED_FORMATS:
            why = _unsafe(inspector, rules)
            if why:
                raise ImageRefused("Image failed safety checks: the data is %s, labelled "
                                   "raw: %s" % (inspector.NAME, why))
    return Inspected("raw", detector.bytes_seen)


def _detected(detector: Detector) -> format_inspector.FileInspector:
    matches = detector.matches()
    names = sorted(i.NAME for i in matches)
    if not matches:
        return detector.raw()
    if len(matches) == 1:
        return matches[0]
    if names == ["gpt", "iso"]:  # a hybrid ISO: bootable from a disk too
        return next(i for i in matches if i.NAME == "iso")
    raise ImageRefused("Image failed safety checks: it matches several formats (%s)"
                       % ", ".join(names))


def _unsafe(detected: format_inspector.FileInspector, rules: FormatRules) -> str | None:
    if detected.NAME == "vmdk":
        why = _vmdk_problem(detected, rules.vmdk_allowed_types)
        if why:
            return why
    try:
        detected.safety_check()
    except format_inspector.SafetyCheckFailed as exc:
        return "; ".join(str(v) for v in exc.failures.values())
    except Exception as exc:  # ImageFormatError, or a parser's own failure
        return "%s image could not be checked (%s)" % (detected.NAME, exc)
    return None


def _vmdk_problem(inspector, allowed_types: tuple[str, ...]) -> str | None:
    """What besides the inspector's checks makes a VMDK read other files.

    qemu opens a text-only descriptor's extents, a sparse file with zero
    capacity through its embedded descriptor's extents, and a descriptor's
    ``parentFileNameHint`` as a backing file; the inspector lets the last
    through, and a text descriptor that claims a sparse create type too.
    """
    text = getattr(inspector, "desc_text", None)
    kind = getattr(inspector, "vmdktype", None)
    if not text or not kind:
        return "VMDK descriptor not found"
    allowed = {t.lower(): t for t in allowed_types}
    if kind not in allowed:
        return "VMDK create type %s is not allowed (allowed: %s)" % (
            kind, ", ".join(allowed_types) or "none")
    header = inspector.region("header").data if inspector.has_region("header") else b""
    if not header.startswith(b"KDMV") or len(header) < 20:
        return "VMDK descriptor without its data: the extents are other files"
    (capacity,) = struct.unpack("<Q", header[12:20])
    extents = [line.split() for line in (raw.strip() for raw in text.splitlines())
               if line.split(" ", 1)[0] in ("rw", "rdonly", "noaccess")]
    if capacity == 0 or len(extents) != 1 or extents[0][2:3] != ["sparse"]:
        return "VMDK extents point outside the file"
    if "parentfilenamehint" in text:  # qemu looks for it anywhere in the text
        return "VMDK image has a parent (backing) file"
    return None


def _virtual_size(inspector) -> int | None:
    try:
        return inspector.virtual_size or None
    except Exception:  # a size a parser cannot give is not known
        return None


class InspectingStream:
    """The upload's bytes as the store reads them, each shown to the inspectors.

    ``read`` raises ImageRefused (after the bytes that told, or at the end of
    the stream instead of the end) when the bytes may not be stored;
    ``inspected`` is the verdict once the stream ended. Bytes labelled with
    a format no inspector reads are only counted.
    """

    def __init__(self, source, disk_format: str | None, container_format: str | None,
                 rules: FormatRules):
        self._source = source
        self._disk_format = disk_format
        self._container_format = container_format
        self._rules = rules
        self._count = 0
        inspects = disk_format is not None and disk_format not in UNINSPECTED
        self._detector = Detector() if inspects else None
        self._looked = False  # whether the verdict was tried before the end
        self.inspected: Inspected | None = None

    def read(self, size: int = -1) -> bytes:
        chunk = self._source.read(size)
        if chunk:
            self._count += len(chunk)
            if self._detector is not None:
                self._detector.feed(chunk)
                if not self._looked and self._detector.decided:
                    self._looked = True  # a pass now is only given at the end
                    self._judge()
        elif self.inspected is None:
            self.inspected = self._verdict()
        return chunk

    def _verdict(self) -> Inspected:
        if self._detector is not None:
            self._detector.finish()
            return self._judge()
        return Inspected(self._disk_format or "", None)

    def _judge(self) -> Inspected:
        return judge(self._detector, self._disk_format, self._container_format,
                     self._rules)
