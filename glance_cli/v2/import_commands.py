"""Interoperable image import: import-info, image-stage, image-import and
image-create-via-import (spec v2 section 9)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
from typing import Any
from typing import Iterator

from glance_cli import transfer
from glance_cli.arguments import non_negative
from glance_cli.errors import CommandError
from glance_cli.errors import HTTPError
from glance_cli.errors import UsageError
from glance_cli.v2 import arguments
from glance_cli.v2 import views
from glance_cli.v2.api import ImagesV2
from glance_cli.v2.data_commands import check_store

# The status each method needs the image in, as glanceclient checks it.
NEEDED_STATUS = {"glance-direct": "uploading", "web-download": "queued",
                 "copy-image": "active"}


@dataclasses.dataclass(frozen=True)
class Targets:
    """Where an import writes: one store (a header), several, or all."""

    store: str | None
    stores: list[str] | None
    all_stores: bool | None
    allow_failure: bool


@contextlib.contextmanager
def _import_workflow() -> Iterator[None]:
    """A server without the import API (404 on /v2/info/import) says so in words."""
    try:
        yield
    except HTTPError as exc:
        if exc.status == 404:
            raise CommandError("Target Glance does not support Image Import workflow") from exc
        raise


def import_info(api: ImagesV2, args: argparse.Namespace) -> int:
    """Show the import methods the server has enabled."""
    with _import_workflow():
        info = api.import_info()
    print(views.properties(info))
    return 0


def image_stage(api: ImagesV2, args: argparse.Namespace) -> int:
    """Upload data to the staging area, for a glance-direct import."""
    source = transfer.data_source(args.file)
    if source is None:
        raise UsageError("give --file or pipe the image data on standard input")
    size = args.size if args.size is not None else source.size
    api.stage(api.resolve(args.image), transfer.upload_chunks(source, args.progress), size)
    return 0


def image_import(api: ImagesV2, args: argparse.Namespace) -> int:
    """Start importing data into an image (staged, from a URL, or to more stores)."""
    targets = _targets(api, args)
    method = args.import_method
    _check_method(api, method, args.uri)
    if method == "copy-image" and not (targets.stores or targets.all_stores):
        raise UsageError("Provide either --stores or --all-stores for 'copy-image' "
                         "import method.")
    image = api.find(args.image)
    if not (image.get("container_format") and image.get("disk_format")):
        raise CommandError("The 'container_format' and 'disk_format' properties must be "
                           "set on an image before it can be imported.")
    needed = NEEDED_STATUS.get(method)
    if needed and image.get("status") != needed:
        raise CommandError("The '%s' import method can only be applied to an image in "
                           "status '%s'" % (method, needed))
    api.start_import(image["id"], import_body(method, args.uri, targets), targets.store)
    print(views.image(api.get(image["id"])))
    return 0


def image_create_via_import(api: ImagesV2, args: argparse.Namespace) -> int:
    """Create an image and import its data: glance-direct for --file or stdin,
    web-download for --uri; without either, just the record."""
    fields = arguments.image_fields(args)
    source = transfer.data_source(args.file)
    method = args.import_method or ("glance-direct" if source is not None else
                                    "web-download" if args.uri else None)
    if method == "copy-image":
        raise UsageError("Import method 'copy-image' cannot be used while creating the "
                         "image.")
    _check_sources(method, source, args.uri)
    targets = _targets(api, args)
    if method is None:
        if targets.store or targets.stores or targets.all_stores:
            raise UsageError("--store, --stores and --all-stores need data: --file, "
                             "stdin or --uri")
        print(views.image(api.create(fields)))
        return 0
    _check_method(api, method, args.uri)
    arguments.require_formats(fields)
    image = api.create(fields)
    try:
        if source is not None:
            size = source.size
            api.stage(image["id"], transfer.upload_chunks(source, args.progress), size)
        api.start_import(image["id"], import_body(method, args.uri, targets), targets.store)
    except CommandError as exc:
        raise CommandError("Image %s was created, but importing its data failed: %s"
                           % (image["id"], exc)) from exc
    print(views.image(api.get(image["id"])))
    return 0


def import_body(method: str, uri: str | None, targets: Targets) -> dict[str, Any]:
    """The ``POST /import`` body for a method, its URI and its target stores."""
    body: dict[str, Any] = {"method": {"name": method}}
    if uri:
        body["method"]["uri"] = uri
    if targets.stores:
        body["stores"] = targets.stores
    if targets.all_stores:
        body["all_stores"] = True
    if targets.stores or targets.all_stores:
        body["all_stores_must_succeed"] = not targets.allow_failure
    return body


def _check_sources(method: str | None, source, uri: str | None) -> None:
    if method is None:
        return
    if method == "glance-direct":
        if uri:
            raise UsageError("You cannot specify a --uri with the glance-direct import "
                             "method.")
        if source is None:
            raise UsageError("You must specify a --file or provide data via stdin for "
                             "the glance-direct import method.")
    elif method == "web-download":
        if source is not None:
            raise UsageError("You cannot specify a --file or pass data via stdin with "
                             "the web-download import method.")


def _check_method(api: ImagesV2, method: str, uri: str | None) -> None:
    """Refuse a method the server has not enabled, or a URI that does not fit it."""
    with _import_workflow():
        enabled = api.import_methods()
    if method not in enabled:
        raise CommandError("Import method '%s' is not valid for this cloud. Valid values "
                           "can be retrieved with import-info command." % method)
    if method == "web-download" and not uri:
        raise UsageError("URI is required for web-download import method. Please use "
                         "'--uri <uri>'.")
    if uri and method != "web-download":
        raise UsageError("Import method should be 'web-download' if URI is provided.")


def _targets(api: ImagesV2, args: argparse.Namespace) -> Targets:
    stores = [s.strip() for s in args.stores.split(",") if s.strip()] if args.stores else None
    given = [opt for opt, value in (("--store", args.store), ("--stores", stores),
                                    ("--all-stores", args.all_stores)) if value]
    if len(given) > 1:
        raise UsageError("Only one of --store, --stores and --all-stores can be provided")
    for store in [args.store] if args.store else stores or []:
        check_store(api, store)
    return Targets(args.store, stores, args.all_stores, args.allow_failure)


def register(commands: argparse._SubParsersAction) -> None:
    """Add the import commands to the shell's parser."""
    info = commands.add_parser("import-info", help="Show the enabled import methods.")
    info.set_defaults(func=import_info)

    stage = commands.add_parser("image-stage", help="Stage data for a glance-direct import.")
    stage.add_argument("image", metavar="<IMAGE>", help="Name or ID of the image.")
    arguments.add_data_options(stage, "staged")
    stage.add_argument("--size", type=non_negative, metavar="<IMAGE_SIZE>",
                       help="Size of the data in bytes, when it cannot be read from the "
                       "file (piped data).")
    stage.set_defaults(func=image_stage)

    start = commands.add_parser("image-import", help="Start an image import.",
                                description="Start importing data into an image: "
                                "glance-direct (staged data), web-download (--uri) or "
                                "copy-image (an active image to more stores).")
    start.add_argument("image", metavar="<IMAGE>", help="Name or ID of the image.")
    start.add_argument("--import-method", default="glance-direct", metavar="<METHOD>",
                       help="glance-direct (default), web-download or copy-image; "
                       "see import-info.")
    start.add_argument("--uri", metavar="<IMAGE_URL>",
                       help="URL the server downloads the data from (web-download).")
    arguments.add_store_options(start, many=True)
    start.set_defaults(func=image_import)

    create = commands.add_parser("image-create-via-import",
                                 help="Create an image and import its data.",
                                 description=image_create_via_import.__doc__)
    arguments.add_image_options(create, create=True)
    arguments.add_data_options(create, "staged and imported")
    create.add_argument("--import-method", metavar="<METHOD>",
                        help="Default: glance-direct with --file or stdin, web-download "
                        "with --uri; see import-info.")
    create.add_argument("--uri", metavar="<IMAGE_URL>",
                        help="URL the server downloads the data from (web-download).")
    arguments.add_store_options(create, many=True)
    create.set_defaults(func=image_create_via_import)
