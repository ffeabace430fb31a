"""The v2 image data commands: image-upload and image-download (spec v2 section 5)."""

from __future__ import annotations

import argparse
import hashlib
from typing import Any

from glance_cli import transfer
from glance_cli.arguments import add_download_options
from glance_cli.arguments import non_negative
from glance_cli.errors import CommandError
from glance_cli.errors import HTTPError
from glance_cli.errors import UsageError
from glance_cli.v2 import arguments
from glance_cli.v2.api import ImagesV2


def check_store(api: ImagesV2, store: str | None) -> None:
    """Refuse a store the server does not list (a server without stores: no check)."""
    if not store:
        return
    try:
        known = [entry.get("id") for entry in api.stores_info()]
    except HTTPError as exc:
        if exc.status == 404:
            return
        raise
    if store not in known:
        raise CommandError("Store '%s' is not valid for this cloud. Valid values can be "
                           "retrieved with stores-info command." % store)


def image_download(api: ImagesV2, args: argparse.Namespace) -> int:
    """Download an image's data to a file or stdout, checking its hash."""
    transfer.check_destination(args.file)
    image = api.find(args.image)
    with api.download(image["id"]) as resp:
        if resp.status_code == 204:
            raise CommandError("Image %s has no data." % image["id"])
        expected = expected_digest(image, resp.headers.get("Content-MD5"),
                                   args.allow_md5_fallback)
        transfer.save_download(resp, args.file, args.progress, expected)
    return 0


def expected_digest(image: dict[str, Any], content_md5: str | None,
                    md5_fallback: bool = False) -> transfer.Digest | None:
    """What the data must hash to: os_hash_value, else checksum, else Content-MD5."""
    algo, value = image.get("os_hash_algo"), image.get("os_hash_value")
    if algo and value:
        if algo in hashlib.algorithms_available or not md5_fallback:
            return transfer.Digest(algo, value)
    if image.get("checksum"):
        return transfer.Digest("md5", image["checksum"])
    return transfer.Digest("md5", content_md5) if content_md5 else None


def image_upload(api: ImagesV2, args: argparse.Namespace) -> int:
    """Upload data to a queued image."""
    source = transfer.data_source(args.file)
    if source is None:
        raise UsageError("give --file or pipe the image data on standard input")
    image_id = api.resolve(args.image)
    check_store(api, args.store)
    size = args.size if args.size is not None else source.size
    api.upload(image_id, transfer.upload_chunks(source, args.progress), size, args.store)
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add image-download and image-upload to the shell's parser."""
    add = commands.add_parser
    download = add("image-download", help="Download an image's data.",
                   description="Download an image's data, checked against the image's "
                   "os_hash_value (else its MD5 checksum).")
    download.add_argument("image", metavar="<IMAGE>", help="Name or ID of the image.")
    add_download_options(download, "<FILE>")
    download.add_argument("--allow-md5-fallback", action="store_true",
                          help="If this machine lacks the image's os_hash_algo, check "
                          "the MD5 checksum instead of failing.")
    download.set_defaults(func=image_download)

    upload = add("image-upload", help="Upload data to a queued image.")
    upload.add_argument("image", metavar="<IMAGE>", help="Name or ID of the image.")
    arguments.add_data_options(upload)
    upload.add_argument("--size", type=non_negative, metavar="<IMAGE_SIZE>",
                        help="Size of the data in bytes, when it cannot be read from "
                        "the file (piped data).")
    arguments.add_store_options(upload, many=False)
    upload.set_defaults(func=image_upload)
