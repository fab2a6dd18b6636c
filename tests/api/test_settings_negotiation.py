"""Settings sources (file, environment, keywords), hashed tokens; the Accept parser."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from derivecert.api.negotiation import JSON, JSONLD, NTRIPLES, RDFXML, TURTLE, choose
from derivecert.settings import Settings, hash_token, main

RDF = (JSON, TURTLE, JSONLD, NTRIPLES, RDFXML)


def test_toml_file_environment_and_keywords(tmp_path, monkeypatch):
    cfg = tmp_path / "node.toml"
    cfg.write_text(f"""
node_name = "File node"
[store]
kind = "embedded"
path = "data/store"
[limits]
sparql_timeout_s = 7
[[institutions]]
id = "hospital-a"
name = {{ zh = "甲医院", en = "Hospital A" }}
token_sha256 = ["{hash_token('secret-a')}"]
[[peers]]
name = "east"
url = "https://east.example.org/"
""", encoding="utf-8")
    monkeypatch.setenv("DERIVECERT_CONFIG_FILE", str(cfg))
    monkeypatch.setenv("DERIVECERT_LIMITS__SPARQL_RESULT_LIMIT", "123")
    s = Settings()
    assert s.node_name == "File node"
    assert s.store.path == tmp_path / "data" / "store"  # relative to the file
    assert s.limits.sparql_timeout_s == 7 and s.limits.sparql_result_limit == 123
    assert s.institution("hospital-a").name["zh"] == "甲医院"
    assert s.peer("east").url == "https://east.example.org"
    assert s.service_allow_list() == {"https://east.example.org/sparql"}
    assert s.authenticate("secret-a").institution == "hospital-a"
    assert s.authenticate("secret-b") is None and s.authenticate(None) is None
    monkeypatch.setenv("DERIVECERT_NODE_NAME", "Env node")
    assert Settings().node_name == "Env node"
    assert Settings(node_name="Kw node").node_name == "Kw node"


def test_json_file_and_reads_closed(tmp_path):
    cfg = tmp_path / "node.json"
    cfg.write_text(json.dumps({"access": {"reads_open": False, "reader_token_sha256": [hash_token("r")]},
                               "store": {"kind": "memory"}}))
    s = Settings(config_file=cfg)
    assert s.access.reads_open is False
    assert s.authenticate("r").institution is None


def test_invalid_settings_are_refused(tmp_path):
    with pytest.raises(ValidationError, match="SHA-256"):
        Settings(institutions=[{"id": "a", "token_sha256": ["plain-token"]}])
    with pytest.raises(ValidationError, match="slug"):
        Settings(institutions=[{"id": "Not A Slug"}])
    with pytest.raises(ValidationError, match="duplicate"):
        Settings(institutions=[{"id": "a"}, {"id": "a"}])
    with pytest.raises(ValidationError, match="query_url"):
        Settings(store={"kind": "remote"})
    with pytest.raises(ValueError, match="not found"):
        Settings(config_file=tmp_path / "missing.toml")


def test_hash_token_command(capsys):
    assert main(["hash-token", "abc"]) == 0
    assert capsys.readouterr().out.strip() == hash_token("abc")


@pytest.mark.parametrize("accept,expected", [
    (None, JSON),
    ("*/*", JSON),
    ("text/turtle", TURTLE),
    ("application/ld+json;q=0.9, text/turtle;q=0.5", JSONLD),
    ("text/*;q=0.8, application/json;q=0.5", TURTLE),
    ("application/rdf+xml, */*;q=0.1", RDFXML),
    ("text/turtle;q=0, */*", JSON),
    ("image/png", None),
    ("application/n-triples; charset=utf-8", NTRIPLES),
])
def test_accept_parser(accept, expected):
    assert choose(accept, RDF) is expected


def test_a_key_unknown_to_a_table_is_refused_naming_it(tmp_path):
    """`service_allow` belongs at the top level: under [store] it is an error, not dropped."""
    config = tmp_path / "node.toml"
    config.write_text('[store]\nkind = "memory"\nservice_allow = ["https://x.example.org/sparql"]\n', encoding="utf-8")
    with pytest.raises(ValidationError, match="service_allow"):
        Settings(config_file=config)
    with pytest.raises(ValidationError, match="token_sha"):
        Settings(institutions=[{"id": "a", "token_sha": []}])


def test_settings_show_never_prints_passwords_or_tokens(tmp_path, capsys):
    config = tmp_path / "node.toml"
    config.write_text(
        '[store]\nkind = "remote"\nquery_url = "http://127.0.0.1:1/q"\nupdate_url = "http://127.0.0.1:1/u"\n'
        'username = "node"\npassword = "store-secret"\n'
        '[[peers]]\nname = "west"\nurl = "http://127.0.0.1:2"\ntoken = "peer-secret"\n', encoding="utf-8")
    assert main(["show", str(config)]) == 0
    shown = capsys.readouterr().out
    assert "store-secret" not in shown and "peer-secret" not in shown
    assert Settings(config_file=config).store.password.get_secret_value() == "store-secret"
