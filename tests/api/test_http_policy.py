"""HTTP policies of the service: CORS (stated, configurable, off by default) and client
disconnects (a line in the log, not an "unexpected error" with a traceback)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from derivecert.api.app import create_app
from derivecert.catalog import Catalog, EmbeddedStore

from .conftest import TOKENS, make_settings

PORTAL = "https://portal.example.org"


def client_for(**access):
    settings = make_settings(access={"reads_open": True, **access})
    return TestClient(create_app(settings, engine=False, store=Catalog(EmbeddedStore(None))))


def preflight(client, origin, method="PUT"):
    return client.options("/v1/datasets", headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type"})


def test_no_cors_headers_by_default():
    with client_for() as client:
        r = client.get("/v1/datasets", headers={"Origin": PORTAL})
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
        assert "access-control-allow-origin" not in preflight(client, PORTAL).headers


def test_cors_allows_only_the_configured_origins():
    with client_for(cors_origins=[PORTAL]) as client:
        r = client.get("/v1/datasets", headers={"Origin": PORTAL})
        assert r.headers["access-control-allow-origin"] == PORTAL
        assert "etag" in r.headers["access-control-expose-headers"].lower()
        assert "access-control-allow-credentials" not in r.headers
        ok = preflight(client, PORTAL)
        assert ok.status_code == 200 and "PUT" in ok.headers["access-control-allow-methods"]
        assert "authorization" in ok.headers["access-control-allow-headers"].lower()
        other = client.get("/v1/datasets", headers={"Origin": "https://evil.example.net"})
        assert "access-control-allow-origin" not in other.headers
        refused = preflight(client, "https://evil.example.net")
        assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers


@pytest.mark.parametrize("origin", ["*", "portal.example.org", "https://portal.example.org/path"])
def test_cors_origins_must_be_origins(origin):
    with pytest.raises(ValidationError, match="cors_origins"):
        make_settings(access={"cors_origins": [origin]})


def test_a_client_that_disconnects_is_logged_without_a_traceback(caplog):
    app = create_app(make_settings(), engine=False, store=Catalog(EmbeddedStore(None)))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "PUT",
        "scheme": "http", "path": "/v1/institutions/hospital-a/datasets", "raw_path": b"/v1/institutions/hospital-a/datasets",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"text/turtle"),
                    (b"authorization", f"Bearer {TOKENS['hospital-a']}".encode())],
    }
    sent = []

    async def receive():
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    with TestClient(app):  # runs the lifespan: the services exist
        caplog.clear()  # start-up's own notices (e.g. an unsigned node) are not the request's
        with caplog.at_level(logging.INFO, logger="derivecert"):
            asyncio.run(app(scope, receive, send))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert any("client disconnected" in r.getMessage() for r in caplog.records)
    assert sent[0]["status"] == 400


@pytest.mark.parametrize("path", ["/v1/certify", "/v1/classify", "/v1/validate"])
def test_a_node_without_engine_answers_503_naming_it(path):
    """A read-only mirror (no engine) refuses certification with a 503 problem, not a 500."""
    with client_for() as client:
        r = client.post(path, content=b"<a:b> <c:d> <e:f> .", headers={"Content-Type": "text/turtle"})
    assert r.status_code == 503
    assert r.json()["code"] == "engine-unavailable"
