"""The tables and sizes the ``glance`` command prints."""

from __future__ import annotations

import pytest

from glance_cli import metadata
from glance_cli import tables


@pytest.mark.parametrize("size, text", [
    (0, "0B"), (None, "0B"), (1023, "1023B"), (1024, "1kB"), (2000, "2kB"),
    (1536 * 1024, "1.5MB"), (3 * 1024 ** 3 // 2, "1.5GB"), (1024 ** 4, "1TB"),
    (1474560, "1.4MB")])
def test_human_sizes_use_powers_of_1024_and_one_decimal(size, text):
    assert tables.human_size(size) == text


def _rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")]
            for line in text.splitlines() if line.startswith("|")]


def test_image_table_sorts_fields_and_adds_property_rows():
    image = {"id": "i1", "name": "n", "size": 2048, "checksum": None,
             "location": "file:///secret", "properties": {"os_distro": "ubuntu"}}
    rows = _rows(tables.image_table(image, human_readable=True))
    assert rows == [["Property", "Value"], ["Property 'os_distro'", "ubuntu"],
                    ["checksum", "None"], ["id", "i1"], ["name", "n"], ["size", "2kB"]]


def test_images_table_has_the_classic_columns():
    rows = _rows(tables.images_table([{"id": "i1", "name": "n", "disk_format": "raw",
                                       "container_format": "bare", "size": 5,
                                       "status": "active"}]))
    assert rows == [["ID", "Name", "Disk Format", "Container Format", "Size", "Status"],
                    ["i1", "n", "raw", "bare", "5", "active"]]


def test_members_table_leaves_can_share_blank_when_false():
    rows = _rows(tables.members_table([
        {"image_id": "i1", "member_id": "t1", "can_share": True},
        {"image_id": "i1", "member_id": "t2", "can_share": False}]))
    assert rows == [["Image ID", "Member ID", "Can Share"], ["i1", "t1", "True"],
                    ["i1", "t2", ""]]


def test_head_headers_become_a_typed_record():
    image = metadata.from_headers({
        "X-Image-Meta-Id": "i1", "x-image-meta-size": "12", "x-image-meta-is_public": "True",
        "x-image-meta-protected": "False", "x-image-meta-min_ram": "",
        "x-image-meta-property-hw_arch": "x86_64", "Content-Length": "0"})
    assert image == {"id": "i1", "size": 12, "is_public": True, "protected": False,
                     "min_ram": 0, "properties": {"hw_arch": "x86_64"}}


def test_request_headers_are_percent_encoded_and_skip_unset_fields():
    headers = metadata.to_headers({"name": "seed one", "is_public": False, "owner": None,
                                   "location": "http://h:80/a b", "min_ram": 5},
                                  {"Hw-Arch": "a,b 50%"})
    assert headers == {"x-image-meta-name": "seed%20one",
                       "x-image-meta-is_public": "False",
                       "x-image-meta-location": "http://h:80/a%20b",
                       "x-image-meta-min_ram": "5",
                       "x-image-meta-property-Hw-Arch": "a%2Cb%2050%25"}
