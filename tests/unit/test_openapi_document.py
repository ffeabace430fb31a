"""doc/openapi.yaml is valid OpenAPI 3.1 and documents exactly the routes
glance-api serves, so no endpoint is added (or removed) undocumented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

from glance_api.app import create_app
from glance_api.cmd import parse_config
from tests.unit.glance_api.api_support import FakeRegistry
from tests.unit.glance_api.api_support import file_stores

DOCUMENT = Path(__file__).resolve().parents[2] / "doc" / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "patch", "head")
# Routes Flask registers that are no part of the API, with why.
NOT_API = {
    "/static/{filename}": "Flask's built-in static route; glance-api ships no static files",
}
# Operations that exist only to refuse, as Glance's did.
ONLY_REFUSE = {("delete", "/v1/images")}
_CONVERTER = re.compile(r"<(?:(?P<kind>[a-z]+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")


@pytest.fixture(scope="module")
def document():
    return yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    base = tmp_path_factory.mktemp("openapi-routes")
    conf_file = base / "glance-api.conf"
    conf_file.write_text("[DEFAULT]\nauth_strategy = noauth\n"
                         "[glance_store]\nfilesystem_store_datadir = %s\n" % base)
    made = create_app(parse_config(["--config-file", str(conf_file)]),
                      registry=FakeRegistry(), stores=file_stores(base))
    yield made


def _openapi_paths(rule: str) -> list[str]:
    """A werkzeug rule as OpenAPI path(s): ``<any(a, b):kind>`` is one path per choice."""
    choices = [rule]
    for match in _CONVERTER.finditer(rule):
        if match.group("kind") == "any":
            options = [o.strip().strip("'\"") for o in match.group("args").split(",")]
            choices = [c.replace(match.group(0), o, 1) for c in choices for o in options]
    return [_CONVERTER.sub(lambda m: "{%s}" % m.group("name"), c) for c in choices]


def _served(app) -> set[tuple[str, str]]:
    served = set()
    for rule in app.url_map.iter_rules():
        methods = {m.lower() for m in rule.methods} - {"options"}
        if "get" in methods:
            methods.discard("head")  # werkzeug adds HEAD to every GET
        for path in _openapi_paths(rule.rule):
            served |= {(path, method) for method in methods}
    return served


def _documented(document) -> set[tuple[str, str]]:
    return {(path, method) for path, item in document["paths"].items()
            for method in METHODS if method in item}


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1.")
    validate(document)


def test_every_route_the_api_serves_is_documented(app, document):
    missing = sorted((path, method.upper()) for path, method in _served(app) - _documented(document)
                     if path not in NOT_API)
    assert not missing, "routes missing from doc/openapi.yaml: %s" % missing


def test_every_documented_operation_is_served(app, document):
    stale = sorted(_documented(document) - _served(app))
    assert not stale, "doc/openapi.yaml documents routes the api lacks: %s" % stale


def test_the_exclusions_name_real_routes(app):
    served_paths = {path for path, _ in _served(app)}
    assert set(NOT_API) <= served_paths


def test_every_operation_says_what_it_does_and_how_it_succeeds(document):
    ids = []
    for path, item in document["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            where = "%s %s" % (method.upper(), path)
            assert operation.get("summary"), where + " has no summary"
            assert operation.get("tags"), where + " has no tag"
            ids.append(operation.get("operationId"))
            codes = [str(code) for code in operation["responses"]]
            if (method, path) not in ONLY_REFUSE:
                assert any(code[0] in "23" for code in codes), where + " documents no success"
    assert None not in ids and len(ids) == len(set(ids)), "operationIds must be unique"


def test_the_converter_reading_covers_any_and_path_rules():
    assert _openapi_paths("/v2/images/<image_id>/tags/<path:tag>") == [
        "/v2/images/{image_id}/tags/{tag}"]
    assert _openapi_paths("/n/<ns>/<any(objects, tags):kind>") == ["/n/{ns}/objects",
                                                                   "/n/{ns}/tags"]
