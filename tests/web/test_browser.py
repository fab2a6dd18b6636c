"""End to end in Debian's headless Chromium against a live demo node: what an author and a
catalog user see.  Every page visited is saved as a screenshot (tests/web/artifacts/)."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = pytest.mark.browser

VALID = "cdc-east/ili-weekly-counts.ttl"
INVALID = "city-hospital/genomic-variants-identifiable-rejected.ttl"


def wait(page, css, timeout=60):
    return WebDriverWait(page.driver, timeout).until(EC.presence_of_element_located((By.CSS_SELECTOR, css)))


def find(page, css):
    return page.driver.find_elements(By.CSS_SELECTOR, css)


def check_example(page, name):
    page.open("/ui/check?example=" + name)
    assert "dcat:Dataset" in page.driver.find_element(By.ID, "description").get_attribute("value")
    page.driver.find_element(By.ID, "check-button").click()
    wait(page, "section.result")


def test_a_valid_example_is_certified_with_labelled_chips(page):
    check_example(page, VALID)
    derived = next(r for r in find(page, "section.result") if r.find_elements(By.CSS_SELECTOR, ".chip[data-code]"))
    badge = derived.find_element(By.CSS_SELECTOR, ".badge")
    assert badge.get_attribute("data-verdict") == "certified" and badge.text == "通过认定"  # the ontology's label, as in the CLI
    scenario = derived.find_element(By.CSS_SELECTOR, ".dim[data-dim=scenario] .chip[data-code=AS-PH]")
    assert scenario.text == "公共卫生"                      # the ontology's zh label, the code only as tooltip
    assert scenario.get_attribute("title") == "AS-PH"
    chips = [c.text for c in derived.find_elements(By.CSS_SELECTOR, ".chip")]
    assert not [c for c in chips if re.fullmatch(r"(AS|GT|GR|MOD|SP)-[A-Z]+|[CDL]\d", c)], chips
    assert derived.find_element(By.CSS_SELECTOR, ".ok").text == "满足全部要求。"
    assert "DRAFT-" in derived.find_element(By.CSS_SELECTOR, ".filing").text
    page.shot("check-certified")


def test_an_invalid_example_shows_its_findings_by_family(page):
    check_example(page, INVALID)
    rejected = next(r for r in find(page, "section.result") if r.find_element(By.CSS_SELECTOR, ".badge").get_attribute("data-verdict") == "rejected")
    families = [f.get_attribute("data-family") for f in rejected.find_elements(By.CSS_SELECTOR, ".family")]
    assert families == sorted(families, key="PQSR".index) and "S" in families
    rows = rejected.find_elements(By.CSS_SELECTOR, "tr.finding[data-severity=Violation]")
    assert rows and all(r.find_element(By.CSS_SELECTOR, ".sev").text == "违规" for r in rows)
    assert any(r.get_attribute("data-requirement") == "S-02" for r in rows)   # grade below the scenario's minimum
    assert rejected.find_element(By.CSS_SELECTOR, ".why").text.startswith("存在违规")
    assert rejected.find_elements(By.CSS_SELECTOR, ".fix")                    # each finding says how to fix it
    assert rejected.find_element(By.CSS_SELECTOR, "details.explanation")     # why each classification holds
    assert len(find(page, ".downloads button")) == 4
    page.shot("check-rejected")


def test_a_syntax_error_names_line_and_column_and_selects_it_in_the_editor(page):
    page.open("/ui/check")
    editor = page.driver.find_element(By.ID, "description")
    editor.send_keys('@prefix dcat: <http://www.w3.org/ns/dcat#> .\n<http://x/a> a dcat:Dataset ;\n  <http://x/p> "unterminated .\n')
    page.driver.find_element(By.ID, "check-button").click()
    error = wait(page, "#error")
    assert "第 3 行" in error.find_element(By.TAG_NAME, "h2").text
    assert page.driver.find_element(By.ID, "bad-line").text.startswith("3")
    start = page.driver.execute_script("return document.getElementById('description').selectionStart")
    text = page.driver.find_element(By.ID, "description").get_attribute("value")
    assert text[:start].count("\n") == 2                                    # the cursor sits on line 3
    page.shot("check-syntax-error")


def test_the_language_switch_keeps_the_check_and_is_remembered(page):
    check_example(page, VALID)
    page.driver.find_element(By.ID, "lang-switch").click()
    wait(page, "html[lang=en] section.result")
    chip = page.driver.find_element(By.CSS_SELECTOR, ".dim[data-dim=scenario] .chip[data-code=AS-PH]")
    assert chip.text == "public health surveillance and decision-making"
    page.open("/ui/datasets")                                               # remembered on the next page
    assert page.driver.find_element(By.TAG_NAME, "h1").text == "Catalog of derived data"
    page.shot("catalog-english")


def test_browse_facets_and_open_a_dataset(page):
    page.open("/ui/datasets")
    total = int(re.search(r"\d+", page.driver.find_element(By.ID, "total").text).group())
    assert total == 30
    facet = page.driver.find_element(By.CSS_SELECTOR, ".facet[data-facet=scenario] a[data-code=AS-PH]")
    count = int(facet.find_element(By.XPATH, "..").find_element(By.CSS_SELECTOR, ".count").text)
    facet.click()
    wait(page, ".facet[data-facet=scenario] a.on[data-code=AS-PH]")
    assert int(re.search(r"\d+", page.driver.find_element(By.ID, "total").text).group()) == count < total
    assert page.driver.find_element(By.CSS_SELECTOR, "#total a").text == "清除筛选"
    assert {f.get_attribute("data-facet") for f in find(page, ".facet")} >= {"scenario", "technique", "level", "grade", "institution", "verdict"}
    page.shot("catalog")
    page.driver.find_element(By.CSS_SELECTOR, ".item a.title").click()
    wait(page, "#provenance")
    nodes = find(page, "svg.prov g.node")
    assert len(nodes) >= 2 and "root" in nodes[0].get_attribute("class")  # the dataset and its source(s)
    assert find(page, "svg.prov line")
    assert page.driver.find_element(By.CSS_SELECTOR, "#filing .status").get_attribute("data-status") == "valid"
    assert page.driver.find_element(By.CSS_SELECTOR, "section.result .badge").get_attribute("data-verdict") in ("certified", "conditional")
    page.shot("dataset")


def test_run_sparql_examples_with_the_formats_of_their_query_form(page):
    page.open("/ui/sparql")
    page.driver.find_element(By.CSS_SELECTOR, "a.example[data-example=by-institution]").click()
    page.driver.find_element(By.ID, "run").click()
    result = wait(page, "#sparql-result[data-form=select]")
    head = [th.text for th in result.find_elements(By.CSS_SELECTOR, "thead th")]
    assert head == ["institution", "level", "datasets"]
    institutions = {row.find_elements(By.TAG_NAME, "td")[0].text for row in result.find_elements(By.CSS_SELECTOR, "tbody tr")}
    assert len(institutions) == 4                                           # across institutions
    assert [a.text for a in find(page, "a.download")] == ["JSON", "XML", "CSV", "TSV"]
    page.shot("sparql")
    page.open("/ui/sparql?example=filings")
    page.driver.find_element(By.ID, "run").click()
    wait(page, "#sparql-result[data-form=graph]")
    assert [a.text for a in find(page, "a.download")] == ["Turtle", "N-Triples", "JSON-LD", "RDF/XML"]
    assert "dcert:FilingRecord" in page.driver.find_element(By.CSS_SELECTOR, "table.results").text


@pytest.mark.parametrize("path, ready", [("/docs", ".swagger-ui .info .title"), ("/redoc", "h1")])
def test_the_openapi_ui_works_offline(page, path, ready):
    page.open(path)
    title = wait(page, ready)
    WebDriverWait(page.driver, 30).until(lambda d: "DeriveCert API" in title.text)
    resources = page.driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources and all(r.startswith(page.base) for r in resources), resources
    page.shot(path.strip("/"))


def test_the_landing_page_leads_to_the_interface_and_the_catalogs(page):
    page.open("/")
    rows = find(page, "table tr td:first-child a")
    assert {a.text for a in rows} == {"city-hospital", "cdc-east", "med-university", "health-platform"}
    page.driver.find_element(By.CSS_SELECTOR, "a.tile[href='/ui/check']")
    page.shot("home")
    rows[0].click()
    wait(page, ".facet[data-facet=institution] a.on")


def test_a_large_description_is_scanned_first_then_checked(page):
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "examples" / "cdc-east"
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.ttl")))
    assert len(text.encode()) > 20000                                      # past the page's scan threshold
    page.open("/ui/check")
    page.driver.execute_script("document.getElementById('description').value = arguments[0]", text)
    page.driver.find_element(By.ID, "check-button").click()
    WebDriverWait(page.driver, 120).until(lambda d: len(find(page, "section.result")) == 8)
    assert {r.find_element(By.CSS_SELECTOR, ".badge").get_attribute("data-verdict") for r in find(page, "section.result")} <= {"certified", "conditional"}
