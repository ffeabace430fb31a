"""Authorization decisions, made explicitly where they matter.

The rules keep Glance's v1 names so an operator's policy file reads the same.
Their defaults are registered in code (``list_rules``); ``[oslo_policy]
policy_file`` (``policy.yaml`` beside the config file by default) overrides
any of them and is re-read when it changes. ``etc/policy.yaml`` is generated
from the defaults by ``oslopolicy-sample-generator``.
"""

from __future__ import annotations

import threading
import time

from glance_api.exceptions import Forbidden
from glance_common.context import RequestContext

ADMIN = "role:admin"
OPEN = ""
# Glance 33's secure-RBAC defaults (spec v2 section 13), under Glance's rule
# names. A target's project_id is the image's owner; member_id is the
# caller's project when it is one of the image's members.
ADMIN_OR_OWNER_MEMBER = "rule:context_is_admin or (rule:member and project_id:%(owner)s)"
ADMIN_OR_READER = "rule:context_is_admin or rule:reader"
ADMIN_OR_MEMBER = "rule:context_is_admin or rule:member"

# (name, default check, what it guards). Visibility is the registry's job:
# rules decide what a caller may do to an image it can already see.
RULES = [
    ("context_is_admin", ADMIN, "Who is an administrator."),
    ("member", "role:member", "Who may change things in their own project."),
    # A member may read too, also where Keystone has no implied roles.
    ("reader", "role:reader or role:member", "Who may read."),
    ("admin_or_owner", "rule:context_is_admin or project_id:%(owner)s",
     "An administrator, or the project that owns the image."),
    ("default", OPEN, "Any rule not listed here."),
    ("add_image", ADMIN_OR_OWNER_MEMBER,
     "Create an image; a non-admin only in its own project."),
    ("get_image", ADMIN_OR_READER, "Show an image's metadata."),
    ("get_images", ADMIN_OR_READER, "List images."),
    ("modify_image", ADMIN_OR_OWNER_MEMBER, "Change an image's metadata."),
    ("publicize_image", "rule:context_is_admin", "Make an image public."),
    ("communitize_image", ADMIN_OR_OWNER_MEMBER, "Make an image community."),
    ("delete_image", ADMIN_OR_OWNER_MEMBER, "Delete an image."),
    ("download_image", ADMIN_OR_MEMBER, "Download an image's data."),
    ("upload_image", ADMIN_OR_OWNER_MEMBER, "Send an image's data."),
    ("deactivate", ADMIN_OR_OWNER_MEMBER,
     "Deactivate an image (POST /v2/images/{id}/actions/deactivate)."),
    ("reactivate", ADMIN_OR_OWNER_MEMBER,
     "Reactivate an image (POST /v2/images/{id}/actions/reactivate)."),
    ("copy_from", OPEN, "Have the service copy an image's data from a URL (v1)."),
    ("add_member", ADMIN_OR_OWNER_MEMBER,
     "Share an image with a project. In v1 a member given can_share may "
     "share on as well."),
    ("get_member", "rule:context_is_admin or (rule:reader and "
     "(project_id:%(owner)s or project_id:%(member_id)s))",
     "Show one member of an image."),
    ("get_members", "rule:context_is_admin or (rule:reader and "
     "(project_id:%(owner)s or project_id:%(member_id)s))",
     "List an image's members (an image member sees its own entry only)."),
    ("modify_member", "rule:context_is_admin or (rule:member and "
     "project_id:%(member_id)s)",
     "Accept, reject or leave pending an image shared with one's project (v2)."),
    ("delete_member", ADMIN_OR_OWNER_MEMBER, "Stop sharing an image with a project."),
    ("manage_image_cache", "rule:context_is_admin", "Manage the image cache."),
    ("get_image_location", OPEN, "See where an image's data lives."),
    ("set_image_location", OPEN,
     "Point an image at data at an external URL (x-image-meta-location); "
     "updates also need modify_image."),
    ("delete_image_location", OPEN, "Remove a location of an image."),
    # The metadata definitions catalog (/v2/metadefs). Reads are open: the
    # registry shows a caller only public namespaces and its project's.
    # Targets carry the namespace's owner as project_id, and its visibility.
    ("metadef_default", OPEN, "Reading the metadata definitions catalog."),
    ("metadef_admin", "rule:context_is_admin",
     "Changing the metadata definitions catalog."),
    ("get_metadef_namespace", "rule:metadef_default", "Show a namespace with what it defines."),
    ("get_metadef_namespaces", "rule:metadef_default", "List namespaces."),
    ("modify_metadef_namespace", "rule:metadef_admin", "Update a namespace."),
    ("add_metadef_namespace", "rule:metadef_admin", "Create a namespace."),
    ("delete_metadef_namespace", "rule:metadef_admin",
     "Delete a namespace, or all its objects or properties."),
    ("get_metadef_object", "rule:metadef_default", "Show an object definition."),
    ("get_metadef_objects", "rule:metadef_default", "List a namespace's objects."),
    ("modify_metadef_object", "rule:metadef_admin", "Update an object definition."),
    ("add_metadef_object", "rule:metadef_admin", "Create an object definition."),
    ("delete_metadef_object", "rule:metadef_admin", "Delete an object definition."),
    ("list_metadef_resource_types", "rule:metadef_default", "List resource types."),
    ("get_metadef_resource_type", "rule:metadef_default",
     "List a namespace's resource type associations."),
    ("add_metadef_resource_type_association", "rule:metadef_admin",
     "Associate a namespace with a resource type."),
    ("remove_metadef_resource_type_association", "rule:metadef_admin",
     "Remove a resource type association."),
    ("get_metadef_property", "rule:metadef_default", "Show a property definition."),
    ("get_metadef_properties", "rule:metadef_default", "List a namespace's property definitions."),
    ("modify_metadef_property", "rule:metadef_admin", "Update a property definition."),
    ("add_metadef_property", "rule:metadef_admin", "Create a property definition."),
    ("remove_metadef_property", "rule:metadef_admin", "Delete a property definition."),
    ("get_metadef_tag", "rule:metadef_default", "Show a tag definition."),
    ("get_metadef_tags", "rule:metadef_default", "List a namespace's tags."),
    ("modify_metadef_tag", "rule:metadef_admin", "Rename a tag."),
    ("add_metadef_tag", "rule:metadef_admin", "Create a tag."),
    ("add_metadef_tags", "rule:metadef_admin",
     "Create several tags, replacing or adding to the namespace's."),
    ("delete_metadef_tag", "rule:metadef_admin", "Delete a tag."),
    ("delete_metadef_tags", "rule:metadef_admin", "Delete all of a namespace's tags."),
]


def list_rules() -> list:
    """The default rules, for oslo.policy's tools and the Enforcer."""
    from oslo_policy import policy

    return [policy.RuleDefault(name, check, description=doc)
            for name, check, doc in RULES]


# Seconds between looks at the policy file for changes. oslo.policy looks on
# every decision (a search of the config dirs and a stat each time), which
# cost more than the rest of a HEAD request.
RELOAD_CHECK_INTERVAL = 5.0


class Policy:
    """An oslo.policy Enforcer holding the defaults and the operator's file."""

    def __init__(self, conf):
        from oslo_policy import policy

        self._enforcer = policy.Enforcer(conf)
        self._enforcer.register_defaults(list_rules())
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def _reload_if_due(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < RELOAD_CHECK_INTERVAL:
            return
        with self._lock:
            if now - self._checked_at < RELOAD_CHECK_INTERVAL:
                return
            self._enforcer.use_conf = True
            self._enforcer.load_rules()
            # Between looks, decisions use the rules loaded here.
            self._enforcer.use_conf = False
            self._checked_at = now

    def check(self, ctx: RequestContext, action: str, target: dict | None = None) -> bool:
        """True when ``ctx`` may perform ``action`` on ``target``."""
        self._reload_if_due()
        return self._enforcer.authorize(action, _target(target), _creds(ctx),
                                        do_raise=False)

    def enforce(self, ctx: RequestContext, action: str, target: dict | None = None) -> None:
        """Raise Forbidden (403) unless ``ctx`` may perform ``action`` on ``target``."""
        if not self.check(ctx, action, target):
            raise Forbidden("You are not authorized to complete %s action." % action)


def get_enforcer():
    """The Enforcer oslopolicy-checker and friends load (the defaults, a blank config)."""
    return Policy(_blank_conf())._enforcer


def _blank_conf():
    from oslo_config import cfg

    conf = cfg.ConfigOpts()
    conf([], project="glance", default_config_files=[], default_config_dirs=[])
    return conf


def _creds(ctx: RequestContext) -> dict:
    creds = {"roles": list(ctx.roles), "is_admin": ctx.is_admin}
    # Absent keys fail a check that names them; a None would compare as "None".
    if ctx.project_id:
        creds["project_id"] = creds["tenant"] = ctx.project_id
    if ctx.user_id:
        creds["user_id"] = ctx.user_id
    return creds


def _target(image: dict | None) -> dict:
    """An image as oslo.policy sees it: its owner is the project it belongs to."""
    target = {k: v for k, v in (image or {}).items()
              if isinstance(v, (str, bool, int)) and v is not None}
    if not (image or {}).get("owner"):
        target.pop("owner", None)
    else:
        target["project_id"] = image["owner"]
    return target


def new_image_target(ctx: RequestContext, owner: str | None = None) -> dict:
    """The target of add_image: the image as it would be owned."""
    return {"owner": owner or ctx.project_id}


def member_target(image: dict, ctx: RequestContext, members: list[dict]) -> dict:
    """An image with ``member_id`` set when the caller's project is one of ``members``."""
    target = dict(image)
    if ctx.project_id and any(m["member_id"] == ctx.project_id for m in members):
        target["member_id"] = ctx.project_id
    return target
