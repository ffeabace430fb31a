"""Loading the catalog from a directory of JSON files in Glance's format.

Each ``*.json`` file holds one namespace as Glance ships them in
``etc/metadefs``: ``namespace, display_name, description, visibility,
protected, owner?, resource_type_associations [{name, prefix?,
properties_target?}], properties {name: definition}, objects [{name,
description, required, properties}], tags [{name}]``.

Loading is idempotent: a namespace already in the catalog is left exactly
as it is (its file is not applied), unless ``overwrite`` is set, which
replaces the stored namespace and everything in it by the file's content,
protected or not. Files load in name order, each in its own transaction.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from glance_common.context import RequestContext
from glance_registry import metadefs
from glance_registry.db import database
from glance_registry.errors import RegistryError
from glance_registry.metadef_models import Namespace

DEFAULT_DIR = "/etc/glance/metadefs"
# The loader is the operator at the console: it sees and may change every
# namespace, and the namespaces it creates have no owner unless the file names one.
_OPERATOR = RequestContext.build("glance-manage", None, ["admin"])


@dataclasses.dataclass(frozen=True)
class LoadResult:
    """What one load did, by namespace name."""

    loaded: list[str]
    skipped: list[str]
    replaced: list[str]


class LoadError(RegistryError):
    """A file could not be read or holds no valid namespace."""


def load_directory(path: str | Path, overwrite: bool = False) -> LoadResult:
    """Load every ``*.json`` file under ``path`` into the bound database."""
    directory = Path(path)
    if not directory.is_dir():
        raise LoadError("%s is not a directory." % directory)
    loaded, skipped, replaced = [], [], []
    for file in sorted(directory.glob("*.json")):
        body = _read(file)
        name = body.get("namespace")
        with database.atomic():
            exists = Namespace.get_or_none(Namespace.namespace == name) is not None
            if exists and not overwrite:
                skipped.append(name)
                continue
            if exists:
                _drop(name)
            try:
                metadefs.create_namespace(_OPERATOR, body)
            except RegistryError as exc:
                raise LoadError("%s: %s" % (file, exc.message)) from exc
        (replaced if exists else loaded).append(name)
    return LoadResult(loaded, skipped, replaced)


def _read(file: Path) -> dict:
    try:
        body = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LoadError("%s: cannot read it as JSON: %s" % (file, exc)) from exc
    if not isinstance(body, dict) or not isinstance(body.get("namespace"), str):
        raise LoadError("%s: not a namespace (no \"namespace\" name)." % file)
    return body


def _drop(name: str) -> None:
    Namespace.update(protected=False).where(Namespace.namespace == name).execute()
    metadefs.delete_namespace(_OPERATOR, name)
