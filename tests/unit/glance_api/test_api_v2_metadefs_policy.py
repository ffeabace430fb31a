"""The catalog's policy defaults: anyone reads (the registry hides what they
may not see), only admins write; Glance's rule names, overridable."""

from __future__ import annotations

import pytest

from glance_api import policy
from glance_common.context import RequestContext

MEMBER = RequestContext.build("alice", "tenant-a", ["member", "reader"])
ADMIN = RequestContext.build("admin", "admin", ["admin"])
NAMESPACE = {"namespace": "OS::X", "visibility": "private", "owner": "tenant-a"}
READS = ["get_metadef_namespace", "get_metadef_namespaces", "get_metadef_object",
         "get_metadef_objects", "list_metadef_resource_types", "get_metadef_resource_type",
         "get_metadef_property", "get_metadef_properties", "get_metadef_tag",
         "get_metadef_tags"]
WRITES = ["add_metadef_namespace", "modify_metadef_namespace", "delete_metadef_namespace",
          "add_metadef_object", "modify_metadef_object", "delete_metadef_object",
          "add_metadef_resource_type_association",
          "remove_metadef_resource_type_association", "add_metadef_property",
          "modify_metadef_property", "remove_metadef_property", "add_metadef_tag",
          "add_metadef_tags", "modify_metadef_tag", "delete_metadef_tag",
          "delete_metadef_tags"]


@pytest.fixture
def rules(make_conf):
    return policy.Policy(make_conf({"auth_strategy": "noauth"}))


@pytest.mark.parametrize("action", READS)
def test_anyone_may_read_the_catalog(rules, action):
    assert rules.check(MEMBER, action, NAMESPACE)


@pytest.mark.parametrize("action", WRITES)
def test_only_admins_change_the_catalog(rules, action):
    assert not rules.check(MEMBER, action, NAMESPACE)
    assert rules.check(ADMIN, action, NAMESPACE)


def test_an_operator_may_let_owners_change_their_namespaces(make_conf, tmp_path):
    (tmp_path / "policy.yaml").write_text(
        '"metadef_admin": "role:admin or project_id:%(project_id)s"\n')
    conf = make_conf({"auth_strategy": "noauth"},
                     oslo_policy={"policy_file": str(tmp_path / "policy.yaml")})
    rules = policy.Policy(conf)
    assert rules.check(MEMBER, "modify_metadef_namespace", NAMESPACE)
    assert not rules.check(MEMBER, "modify_metadef_namespace",
                           {**NAMESPACE, "owner": "tenant-b"})
