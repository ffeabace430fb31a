"""Fixtures for the registry's unit tests: an app on each database, and callers."""

from __future__ import annotations

import pytest
from registry_support import ALICE
from registry_support import make_conf

from glance_registry import db
from glance_registry.app import create_app


@pytest.fixture
def conf(db_url):
    return make_conf(db_url)


@pytest.fixture
def app(conf):
    application = create_app(conf)
    yield application
    db.close_all(db.database.obj)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def create(client):
    """Create an image over HTTP as ``as_`` and return its JSON."""

    def _create(as_=ALICE, **fields):
        response = client.post("/images", json={"image": fields}, headers=as_)
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()["image"]

    return _create
