"""Disk and container formats: Glance's lists and the Amazon pairing rule.

Used by the api (to refuse bad input before anything is recorded), the
registry (which keeps its rows consistent whoever calls it) and the CLI's
help text.
"""

from __future__ import annotations

DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2",
                "vdi", "iso", "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker")
AMAZON_FORMATS = ("ami", "ari", "aki")
AMAZON_MISMATCH = ("Invalid mix of disk and container formats. When setting a disk "
                   "or container format to one of 'aki', 'ari', or 'ami', the "
                   "container and disk formats must match.")


def pair_amazon(disk_format: str | None, container_format: str | None
                ) -> tuple[str | None, str | None]:
    """Apply the Amazon rule: an ami/ari/aki format given alone sets the other
    to the same; ValueError(AMAZON_MISMATCH) when the two differ."""
    if disk_format in AMAZON_FORMATS or container_format in AMAZON_FORMATS:
        if disk_format is None:
            disk_format = container_format
        elif container_format is None:
            container_format = disk_format
        if disk_format != container_format:
            raise ValueError(AMAZON_MISMATCH)
    return disk_format, container_format
