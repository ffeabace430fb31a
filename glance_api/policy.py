"""Authorization decisions, made explicitly where they matter.

The rules keep Glance's v1 names so an operator's policy file reads the same.
Their defaults are registered in code (``list_rules``); ``[oslo_policy]
policy_file`` (``policy.yaml`` beside the config file by default) overrides
any of them and is re-read when it changes. ``etc/policy.yaml`` is generated
from the defaults by ``oslopolicy-sample-generator``.
"""

from __future__ import annotations

import re
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
    ("copy_image", "rule:context_is_admin",
     "Copy an active image's data into more stores (the copy-image import "
     "method, v2)."),
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
    ("cache_list", "rule:manage_image_cache",
     "List this node's cached and queued images (GET /v2/cache)."),
    ("cache_image", "rule:manage_image_cache",
     "Queue an image for caching on this node (PUT /v2/cache/{image_id})."),
    ("cache_delete", "rule:manage_image_cache",
     "Remove an image from this node's cache or queue, or clear them "
     "(DELETE /v2/cache[/{image_id}])."),
    # Tasks: tasks_api_access guards the whole /v2/tasks API; the other
    # four are Glance's internal task rules (rule:default, as in Glance).
    ("tasks_api_access", ADMIN,
     "Use the tasks API (/v2/tasks). One blanket rule for all of it."),
    ("get_task", "rule:default", "Show a task (GET /v2/tasks/{task_id})."),
    ("get_tasks", "rule:default", "List tasks (GET /v2/tasks)."),
    ("add_task", "rule:default", "Create a task (POST /v2/tasks)."),
    ("modify_task", "rule:default", "Not used; kept for Glance policy files."),
    ("get_image_location", "rule:context_is_admin or (rule:reader and "
     "project_id:%(owner)s)",
     "See an image's locations in its v2 document (show_multiple_locations)."),
    ("set_image_location", ADMIN_OR_OWNER_MEMBER,
     "Point an image at data elsewhere: v1 x-image-meta-location, and adding "
     "or changing locations with the v2 PATCH (show_multiple_locations); "
     "updates also need modify_image."),
    # The locations API (v2.17) is for services (Nova, Cinder): they hold
    # the service role in Keystone.
    ("service_api", "role:service", "Who calls the service-to-service APIs."),
    ("fetch_image_location", "rule:service_api",
     "List an image's locations (GET /v2/images/{id}/locations)."),
    ("add_image_location", "rule:service_api or (rule:member and "
     "project_id:%(owner)s)",
     "Give a queued image the location of its data (POST "
     "/v2/images/{id}/locations). Only services may name data in this "
     "service's own stores; an owner may add http(s) locations only."),
    # Glance 33's defaults: administrators, or services (Nova, Cinder).
    ("delete_image_location", "rule:context_is_admin or role:service",
     "Remove a location of an image, and its data from one store "
     "(DELETE /v2/stores/{store_id}/{image_id})."),
    ("stores_info_detail", "rule:context_is_admin or role:service",
     "See each store's type, weight and settings "
     "(GET /v2/info/stores/detail)."),
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

# Decisions remembered at most; the memory is emptied when full (a cloud
# has few distinct role sets and owners per api worker; a flood of new
# ones costs a re-evaluation each, never memory without end).
MAX_DECISIONS = 10000

# The check types whose decisions depend only on the credentials and on
# the target values their match strings name (``%(owner)s``). Any other
# type (http:, a plugin's check) may read anything: no decision is
# remembered while a rule uses one.
_FORMAT_KEY = re.compile(r"%\(([^)]*)\)")


class Policy:
    """An oslo.policy Enforcer holding the defaults and the operator's file.

    Decisions are remembered. oslo.policy's evaluation costs about 0.15 ms
    per rule on this machine (its ``_check`` calls ``inspect.getfullargspec``
    for every node of the rule: three for get_image). With decisions
    remembered (and v1's headers added rather than set), the api's own
    work for a v1 HEAD (in-process, callgrind) went from 2.84 to 2.35
    million instructions, and for a v1 create from 3.11 to 2.74.
    A decision depends only on the rule, the credentials (all derived from
    the context's user, project and roles) and the target's values that
    the rules' match strings name, so exactly those make the key. The
    memory is emptied whenever the loaded rules change (the policy file is
    re-read every ``RELOAD_CHECK_INTERVAL`` seconds), and nothing is
    remembered while any rule uses a check type outside oslo.policy's
    plain ones.
    """

    def __init__(self, conf):
        from oslo_policy import policy

        self._enforcer = policy.Enforcer(conf)
        self._enforcer.register_defaults(list_rules())
        self._checked_at = float("-inf")
        self._lock = threading.Lock()
        self._rules_seen: dict | None = None
        # None: the loaded rules use a check whose inputs are unknown.
        self._target_keys: tuple[str, ...] | None = None
        self._decisions: dict = {}

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
            self._note_rules()
            self._checked_at = now

    def _note_rules(self) -> None:
        """Forget every decision when the loaded rules differ from the last seen."""
        rules = self._enforcer.rules
        seen = {name: str(check) for name, check in rules.items()}
        seen[None] = rules.default_rule
        if seen == self._rules_seen:
            return
        # A new dict, not clear(): a decision being made with the old
        # rules lands in the old dict.
        self._decisions = {}
        self._target_keys = _target_keys(rules.values())
        self._rules_seen = seen

    def check(self, ctx: RequestContext, action: str, target: dict | None = None) -> bool:
        """True when ``ctx`` may perform ``action`` on ``target``."""
        self._reload_if_due()
        target = _target(target)
        keys, decisions = self._target_keys, self._decisions
        if keys is None:
            return self._decide(ctx, action, target)
        # Types are part of the key: True == 1 as dict keys, not as text.
        key = (action, ctx.roles, ctx.project_id, ctx.user_id,
               tuple((k in target, type(target.get(k)), target.get(k)) for k in keys))
        found = decisions.get(key)
        if found is None:
            found = self._decide(ctx, action, target)
            if len(decisions) >= MAX_DECISIONS:
                decisions.clear()
            decisions[key] = found
        return found

    def _decide(self, ctx: RequestContext, action: str, target: dict) -> bool:
        return bool(self._enforcer.authorize(action, target, _creds(ctx),
                                             do_raise=False))

    def enforce(self, ctx: RequestContext, action: str, target: dict | None = None) -> None:
        """Raise Forbidden (403) unless ``ctx`` may perform ``action`` on ``target``."""
        if not self.check(ctx, action, target):
            raise Forbidden("You are not authorized to complete %s action." % action)


def _target_keys(checks) -> tuple[str, ...] | None:
    """The target keys the match strings of ``checks`` name; None when a
    check of another type than oslo.policy's plain ones is among them."""
    from oslo_policy import _checks

    plain = (_checks.TrueCheck, _checks.FalseCheck, _checks.RuleCheck,
             _checks.RoleCheck, _checks.GenericCheck)
    keys, todo = set(), list(checks)
    while todo:
        check = todo.pop()
        kind = type(check)
        if kind in (_checks.AndCheck, _checks.OrCheck):
            todo += check.rules
        elif kind is _checks.NotCheck:
            todo.append(check.rule)
        elif kind not in plain:
            return None
        elif kind in (_checks.RoleCheck, _checks.GenericCheck):
            keys.update(_FORMAT_KEY.findall(check.match))
    return tuple(sorted(keys))


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
