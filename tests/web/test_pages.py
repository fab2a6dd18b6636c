"""The web pages in-process (no browser): errors, limits, downloads, redirects, and §6 fields the
pages do not know yet."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph
from rdflib.namespace import RDF

from derivecert.api.app import create_app
from api.conftest import make_settings
from derivecert.api.routers.web import result_view
from derivecert.api.web import env
from derivecert.api.web.i18n import TEXT
from conftest import spec_examples
from derivecert.vocab import DCERT

E1 = next(p for p, _ in spec_examples() if p.stem.startswith("e1"))
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def client(engine):
    app = create_app(make_settings(limits={"max_body_bytes": 200_000}), engine=engine)
    with TestClient(app) as c:
        c.cookies.set("derivecert-lang", "en")
        yield c


def form(text: str, fmt: str = "turtle") -> str:
    return urlencode({"description": text, "format": fmt})


def test_a_syntax_error_is_a_400_page_naming_line_and_column(client):
    bad = '@prefix dcat: <http://www.w3.org/ns/dcat#> .\n<http://x/a> a dcat:Dataset ;\n  <http://x/p> "open .\n'
    r = client.post("/ui/check", content=form(bad), headers=FORM)
    assert r.status_code == 400 and "text/html" in r.headers["content-type"]
    assert 'data-error-line="3"' in r.text and "line 3, column" in r.text
    assert "The description cannot be parsed" in r.text
    assert 'id="bad-line"' in r.text


def test_a_description_past_the_limit_is_a_413_page_naming_the_limit(client):
    r = client.post("/ui/check", content=form("#" * 250_000), headers=FORM)    # the API's limit
    assert r.status_code == 413 and "200000 bytes" in r.text and "exceeds this node&#39;s size limit" in r.text
    r = client.post("/ui/check", content=form("#" * 700_000), headers=FORM)    # past the form's own bound
    assert r.status_code == 413 and "200000 bytes" in r.text


def test_form_encoding_does_not_count_against_the_limit(client):
    text = E1.read_text(encoding="utf-8")
    text += "\n# " + "衍" * ((150_000 - len(text.encode())) // 3)      # about 150 kB of text, 400 kB encoded
    assert len(form(text)) > 200_000
    assert client.post("/ui/check", content=form(text), headers=FORM).status_code == 200


def test_the_filing_download_holds_the_filing_records_only(client):
    r = client.post("/ui/check/download/filing", content=form(E1.read_text(encoding="utf-8")), headers=FORM)
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    g = Graph().parse(data=r.text, format="turtle")
    assert len(set(g.subjects(RDF.type, DCERT.FilingRecord))) == 1
    assert not set(g.subjects(RDF.type, DCERT.CertificationResult))


def test_the_shacl_report_download_is_a_validation_report(client):
    r = client.post("/ui/check/download/report", content=form(E1.read_text(encoding="utf-8")), headers=FORM)
    assert r.status_code == 200 and "sh:ValidationReport" in r.text


def test_a_check_lists_a_source_apart_instead_of_as_a_p01_result(client):
    r = client.post("/ui/check", content=form(E1.read_text(encoding="utf-8")), headers=FORM)
    assert r.status_code == 200
    assert 'id="source-only"' in r.text and "https://hospital-x.example.org/pathology-reports</code>" in r.text
    assert 'data-requirement="P-01"' not in r.text and r.text.count('class="result"') == 1


def test_the_language_switch_redirects_only_within_the_node(client):
    r = client.get("/ui/lang/zh", params={"next": "//evil.example/x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/check"
    assert "derivecert-lang=zh" in r.headers["set-cookie"]
    r = client.get("/ui/lang/zh", params={"next": "/ui/datasets?level=L1"}, follow_redirects=False)
    assert r.headers["location"] == "/ui/datasets?level=L1"
    assert client.get("/ui/lang/fr").status_code == 404


def test_an_unknown_facet_code_shows_the_apis_400(client):
    r = client.get("/ui/datasets", params={"level": "L9"})
    assert r.status_code == 400 and "L9" in r.text


def test_assets_are_served_by_name_only(client):
    assert client.get("/ui/static/swagger-ui-bundle.js").status_code == 200
    assert client.get("/ui/static/..%2F..%2Fapp.py").status_code == 404
    r = client.get("/docs")
    assert "/ui/static/swagger-ui-bundle.js" in r.text and "cdn" not in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]


def test_fields_added_to_the_result_later_are_shown_as_they_come():
    result = {"dataset": "https://x.example/d", "verdict": "conditional", "is_derived": True, "types": [],
              "classification": {"scenario": ["AS-DRUG"]}, "findings": [],
              "notices": [{"code": "N-1", "message": {"zh": "提示", "en": "a notice"}}]}
    view = result_view(result, "zh")
    assert view["chips"][0]["values"] == [{"code": "AS-DRUG", "label": "药物与器械研发"}]
    html = env.from_string('{% from "macros.html" import result_card %}{{ result_card(r, t) }}').render(r=view, t=TEXT["zh"])
    assert 'data-field="notices"' in html and "a notice" in html


def test_the_scan_before_a_large_check_counts_datasets_and_triples(client):
    r = client.post("/ui/check/scan", content=form(E1.read_text(encoding="utf-8")), headers=FORM)
    assert r.status_code == 200
    body = r.json()
    assert body["datasets"] == 2 and body["triples"] > 20 and body["estimate_s"] >= 1
    assert client.post("/ui/check/scan", content=form("<a> <b> "), headers=FORM).status_code == 400
