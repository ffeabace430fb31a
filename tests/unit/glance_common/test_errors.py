"""Error bodies in the style each API version's clients read."""

from __future__ import annotations

import flask
import pytest

from glance_common import errors


@pytest.fixture
def app():
    return flask.Flask("t")


@pytest.mark.parametrize("style, accept, mimetype, starts", [
    (errors.V1, None, "text/plain", "404 Not Found\n\nNo image <x>"),
    (errors.V1, "*/*", "text/plain", "404 Not Found\n\nNo image <x>"),
    (errors.V1, "application/json", "application/json", '{"message": "No image <x>"'),
    (errors.V2, None, "text/plain", "404 Not Found\n\nNo image <x>"),
    (errors.V2, "text/plain", "text/plain", "404 Not Found\n\nNo image <x>"),
    (errors.V2, "*/*", "text/html", "<html>"),
    (errors.V2, "application/json", "application/json", '{"message": "No image <x>"'),
])
def test_the_body_follows_accept_in_each_style(app, style, accept, mimetype, starts):
    headers = {"Accept": accept} if accept else {}
    with app.test_request_context("/", headers=headers):
        resp = errors.error_response(404, "No image <x>", style=style)
    assert resp.status_code == 404
    assert resp.mimetype == mimetype
    assert resp.get_data(as_text=True).startswith(starts)


def test_an_html_body_escapes_the_message(app):
    with app.test_request_context("/", headers={"Accept": "*/*"}):
        body = errors.error_response(400, "<script>", style=errors.V2).get_data(as_text=True)
    assert "&lt;script&gt;" in body and "<script>" not in body
