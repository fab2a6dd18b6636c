"""Fixtures: stores on both backends (embedded Oxigraph, and a real `oxigraph serve` process),
settings with institutions and hashed tokens, and API clients over them."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

from derivecert.api.app import create_app, load_engine
from derivecert.settings import Settings, hash_token
from derivecert.catalog import Catalog, EmbeddedStore, RemoteStore
from derivecert.catalog.backends.virtuoso_sql import VirtuosoSQL

from .servers import OxigraphServer, VirtuosoServer

TOKENS = {"hospital-a": "token-of-hospital-a", "hospital-b": "token-of-hospital-b", "cdc-east": "token-of-cdc"}
READER_TOKEN = "token-of-a-reader"


def make_settings(**overrides) -> Settings:
    base = dict(
        node_name="Test node",
        store={"kind": "memory"},
        institutions=[
            {"id": "hospital-a", "name": {"zh": "甲医院", "en": "Hospital A"}, "token_sha256": [hash_token(TOKENS["hospital-a"])]},
            {"id": "hospital-b", "name": {"zh": "乙医院", "en": "Hospital B"}, "token_sha256": [hash_token(TOKENS["hospital-b"])]},
            {"id": "cdc-east", "name": {"zh": "东部疾控中心", "en": "CDC East"}, "token_sha256": [hash_token(TOKENS["cdc-east"])]},
        ],
        access={"reads_open": True, "reader_token_sha256": [hash_token(READER_TOKEN)]},
    )
    base.update(overrides)
    return Settings(**base)


def auth(institution: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[institution]}"}


def _engine_module_exists() -> bool:
    import importlib.util

    return importlib.util.find_spec("derivecert.engine") is not None


@pytest.fixture(scope="session")
def engine():
    """The real engine, loaded once per session (None only where the module does not exist)."""
    if not _engine_module_exists():
        return None
    return load_engine(make_settings())  # a broken engine fails the tests, it never skips them


@pytest.fixture
def need_engine(engine):
    if engine is None:
        pytest.skip("derivecert.engine does not exist in this checkout")
    return engine


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory):
    server = OxigraphServer(tmp_path_factory.mktemp("oxigraph-main")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def virtuoso_server(tmp_path_factory):
    """Virtuoso, started once for the session.  Missing, it is a skip on a developer's machine
    and a failure in CI (`make test` installs it)."""
    if not VirtuosoServer.available() and os.environ.get("CI") != "true":
        pytest.skip("virtuoso-opensource is not installed (make test installs it)")
    server = VirtuosoServer(tmp_path_factory.mktemp("virtuoso")).start()
    yield server
    server.stop()


def remote_store(server, **kw) -> RemoteStore:
    """A remote store over a test server (`OxigraphServer` or `VirtuosoServer`)."""
    if isinstance(server, VirtuosoServer):
        kw.update(auth=(server.username, server.password), dialect="virtuoso",
                  sql=VirtuosoSQL(server.sql_address, server.username, server.password))
    return RemoteStore(server.query_url, server.update_url, server.gsp_url, **kw)


@pytest.fixture(params=["embedded", "remote", "virtuoso"])
def store(request, tmp_path):
    """A fresh catalog store on each backend: embedded Oxigraph, `oxigraph serve`, Virtuoso."""
    if request.param == "embedded":
        s = Catalog(EmbeddedStore(tmp_path / "store", query_processes=1))
    else:
        server = request.getfixturevalue("oxigraph_server" if request.param == "remote" else "virtuoso_server")
        server.clear()
        s = Catalog(remote_store(server, index_check_interval_s=0))
    yield s
    s.close()


@pytest.fixture
def settings():
    return make_settings()


@pytest.fixture
def client(store, settings, engine):
    """An API client over a fresh store (both backends)."""
    app = create_app(settings, engine=engine, store=store)
    with TestClient(app) as c:
        yield c
