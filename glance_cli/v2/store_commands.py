"""stores-info, stores-delete and image-tasks: where an image's data lives,
and what its imports did (spec v2 sections 9.1, 9.4 and 10)."""

from __future__ import annotations

import argparse

from glance_cli.errors import CommandError
from glance_cli.errors import HTTPError
from glance_cli.v2 import views
from glance_cli.v2.api import ImagesV2

STORE_COLUMNS = ("ID", "Description", "Default")
DETAIL_COLUMNS = ("Type", "Weight", "Properties")
TASK_COLUMNS = ("Message", "Status", "Updated at")
VERBOSE_TASK_BEFORE = ("Image Id", "Task Id")
VERBOSE_TASK_AFTER = ("User Id", "Request Id", "Result", "Owner", "Input", "Expires at")


def stores_info(api: ImagesV2, args: argparse.Namespace) -> int:
    """List the stores an image's data can be written to."""
    try:
        stores = api.stores_info(args.detail)
    except HTTPError as exc:
        if exc.status == 404:
            raise CommandError("Multi Backend support is not enabled") from exc
        raise
    columns = STORE_COLUMNS + (DETAIL_COLUMNS if args.detail else ())
    print(views.listing(stores, columns))
    return 0


def stores_delete(api: ImagesV2, args: argparse.Namespace) -> int:
    """Remove an image's data from one store (admins; other copies must remain)."""
    image_id = api.resolve(args.image)
    try:
        api.delete_from_store(args.store, image_id)
    except HTTPError as exc:
        if exc.status == 404:
            raise CommandError("Multi Backend support is not enabled or Image/store not "
                               "found.") from exc
        raise CommandError("Unable to delete image '%s' from store '%s'. (%s)"
                           % (image_id, args.store, exc)) from exc
    return 0


def image_tasks(api: ImagesV2, args: argparse.Namespace) -> int:
    """The import tasks of an image: what ran, and what it said."""
    image = api.find(args.image)
    try:
        tasks = api.image_tasks(image["id"])
    except HTTPError as exc:
        if exc.status in (404, 501):
            # The image exists (found above): it is the endpoint that is missing.
            raise CommandError("Server does not support image tasks API (v2.12)") from exc
        raise
    columns = TASK_COLUMNS
    if args.verbose:
        columns = VERBOSE_TASK_BEFORE + TASK_COLUMNS + VERBOSE_TASK_AFTER
    rows = [dict(task, task_id=task.get("id")) for task in tasks]
    print(views.listing(rows, columns))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add the store and task commands to the shell's parser."""
    info = commands.add_parser("stores-info", help="List the stores for image data.")
    info.add_argument("--detail", action="store_true",
                      help="Also each store's type, weight and settings (admins only).")
    info.set_defaults(func=stores_info)

    delete = commands.add_parser("stores-delete",
                                 help="Delete an image's data from one store.")
    delete.add_argument("image", metavar="<IMAGE>", help="Name or ID of the image.")
    delete.add_argument("--store", required=True, metavar="<STORE_ID>",
                        help="Store to delete the image's data from.")
    delete.set_defaults(func=stores_delete)

    tasks = commands.add_parser("image-tasks", help="List the tasks of an image.")
    tasks.add_argument("image", metavar="<IMAGE>", help="Name or ID of the image.")
    tasks.set_defaults(func=image_tasks)
