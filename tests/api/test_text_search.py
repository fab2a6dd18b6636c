"""Ranked text search in Chinese and English, with facets (issue 15), on both backends; the
text index persisted beside an embedded store and rebuilt when it does not match the store."""

from __future__ import annotations

import sqlite3

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS

from derivecert.catalog import Catalog, EmbeddedStore, SearchQuery, build_submission
from derivecert.catalog.text import TextIndex, index_text, match_expression, stem

from .fakes import fake_run

BASE = "https://text.example.org/"
RECORDS = [
    # name, en title, zh title, description, scenario
    ("t2d", "Type 2 diabetes patient follow-up", "2型糖尿病患者随访数据", "Quarterly follow-up of a regional cohort", "AS-PH"),
    ("urine", "Urine glucose screening", "糖尿检测与病历摘要", "Screening results with case notes", "AS-PH"),
    ("flu", "Influenza surveillance counts", "流感监测周报", "Weekly counts by district", "AS-PH"),
    ("flu-model", "Hospital bed forecasts", "住院床位预测", "A model trained on influenza seasons and diabetes admissions", "AS-AI"),
    ("cohorts", "Birth cohorts of the province", "全省出生队列", "Children followed from birth", "AS-RES"),
]


def file(store, name, en, zh, description, scenario, institution="hospital-a"):
    dataset = BASE + name
    g, rg, results = fake_run(dataset, title=en, scenario=(scenario,), filing=f"DC-20250101-{name.upper():0>8}"[:20])
    ds = URIRef(dataset)
    g.remove((ds, DCTERMS.title, None))
    g.remove((ds, DCTERMS.description, None))
    g.add((ds, DCTERMS.title, Literal(en, lang="en")))
    g.add((ds, DCTERMS.title, Literal(zh, lang="zh")))
    g.add((ds, DCTERMS.description, Literal(description, lang="en")))
    store.replace(build_submission(institution, g, rg, results))


@pytest.fixture
def filled(store):
    for record in RECORDS:
        file(store, *record)
    return store


def names(store, text, **kw):
    return [e.dataset.removeprefix(BASE) for e in store.search(SearchQuery(text=text, sort="relevance", **kw)).items]


def test_chinese_words_are_found_as_written_and_only_where_contiguous(filled):
    assert names(filled, "糖尿病") == ["t2d"]            # "糖尿检测与病历" has 糖尿 and 病, not 糖尿病
    assert names(filled, "随访") == ["t2d"]              # a two-character word
    assert set(names(filled, "糖尿")) == {"t2d", "urine"}
    assert names(filled, "流感") == ["flu"]
    assert set(names(filled, "队")) == {"cohorts"}       # one character
    assert names(filled, "糖尿病 随访") == ["t2d"] and names(filled, "糖尿病 流感") == []


def test_english_plurals_are_folded_and_case_ignored(filled):
    assert set(names(filled, "cohorts")) == {"t2d", "cohorts"}  # "a regional cohort"
    assert set(names(filled, "Cohort")) == {"t2d", "cohorts"}
    assert names(filled, "counts district") == ["flu"]
    assert stem("studies") == "study" and stem("analysis") == "analysis" and stem("boxes") == "box"


def test_a_match_in_the_title_ranks_above_one_in_the_description(filled):
    assert names(filled, "influenza") == ["flu", "flu-model"]
    assert names(filled, "diabetes") == ["t2d", "flu-model"]


def test_facets_count_the_matches_only_and_combine_with_filters(filled):
    result = filled.search(SearchQuery(text="influenza"))
    assert result.total == 2
    assert result.facets["scenario"] == {"AS-PH": 1, "AS-AI": 1}
    both = filled.search(SearchQuery(text="influenza", filters={"scenario": ["AS-AI"]}, sort="relevance"))
    assert [e.dataset for e in both.items] == [BASE + "flu-model"] and both.total == 1
    assert both.facets["scenario"] == {"AS-PH": 1, "AS-AI": 1}  # its own dimension: every alternative
    assert both.facets["verdict"] == {"certified": 1}


def test_pages_follow_the_ranking(filled):
    assert names(filled, "diabetes", limit=1) == ["t2d"]
    assert names(filled, "diabetes", limit=1, offset=1) == ["flu-model"]


def test_replaced_and_withdrawn_records_leave_the_text_index(filled):
    file(filled, "t2d", "Type 2 diabetes registry", "2型糖尿病登记", "Registry", "AS-PH")
    assert names(filled, "随访") == [] and names(filled, "登记") == ["t2d"]
    key = filled.search(SearchQuery(text="登记")).items[0].key
    assert filled.delete(key)
    assert names(filled, "糖尿病") == []


def test_words_that_are_not_words_match_nothing_and_never_reach_fts5_syntax():
    assert match_expression("  ,;  ") is None
    assert match_expression('cohort" OR "x') == '"cohort" AND "or" AND "x"'
    assert index_text("2型糖尿病") == "2 型糖 糖尿 尿病 病"


def test_the_text_index_is_persisted_beside_the_store_and_rebuilt_when_stale(tmp_path):
    path = tmp_path / "store"
    store = Catalog(EmbeddedStore(path, query_processes=0))
    for record in RECORDS:
        file(store, *record)
    generation = store.read_generation()
    store.close()
    text_file = tmp_path / "store.text.sqlite"
    assert TextIndex(text_file).generation() == generation

    store = Catalog(EmbeddedStore(path, query_processes=0))
    assert names(store, "糖尿病") == ["t2d"]
    store.close()

    # a crash between the store's write and the text index's: an older generation, a missing row
    db = sqlite3.connect(text_file)
    db.execute("DELETE FROM texts")
    db.execute("UPDATE meta SET value = 'before-the-crash'")
    db.commit()
    db.close()
    store = Catalog(EmbeddedStore(path, query_processes=0))
    assert names(store, "糖尿病") == ["t2d"]
    assert TextIndex(text_file).generation() == generation
    store.close()

    text_file.write_bytes(b"not a database at all" * 100)  # torn or foreign: rebuilt
    store = Catalog(EmbeddedStore(path, query_processes=0))
    assert names(store, "流感") == ["flu"]
    store.close()


def test_the_search_endpoint_ranks_by_relevance_with_q_and_combines_it_with_facets(client, store):
    for record in RECORDS:
        file(store, *record)
    body = client.get("/v1/datasets", params={"q": "diabetes"}).json()
    assert body["sort"] == "relevance" and body["total"] == 2
    assert [i["dataset"] for i in body["items"]] == [BASE + "t2d", BASE + "flu-model"]
    scenario = {v["code"]: v["count"] for v in body["facets"]["scenario"]["values"]}
    assert scenario == {"AS-PH": 1, "AS-AI": 1}
    body = client.get("/v1/datasets", params={"q": "糖尿病", "scenario": "AS-PH"}).json()
    assert [i["dataset"] for i in body["items"]] == [BASE + "t2d"]
    newest = client.get("/v1/datasets", params={"q": "diabetes", "sort": "-modified"}).json()
    assert newest["sort"] == "-modified" and [i["dataset"] for i in newest["items"]] == [BASE + "flu-model", BASE + "t2d"]
    assert client.get("/v1/datasets").json()["sort"] == "-modified"


def test_the_web_search_box_shows_the_matches_best_first(client, store):
    for record in RECORDS:
        file(store, *record)
    client.cookies.set("derivecert-lang", "zh")
    page = client.get("/ui/datasets", params={"q": "diabetes"}).text
    assert page.index("2型糖尿病患者随访数据") < page.index("住院床位预测")
    assert "流感监测周报" not in page and 'value="diabetes"' in page


def test_a_store_without_a_generation_has_its_text_index_built_once_not_at_every_start(tmp_path):
    """A store no write of the node's reached (loaded behind it) has no generation: the text index
    is rebuilt at its first open only (a rebuild takes seconds per 100,000 datasets)."""
    text = TextIndex(tmp_path / "text.sqlite")
    assert text.sync(None, []) is True
    assert text.sync(None, []) is False
    text.close()
    assert TextIndex(tmp_path / "text.sqlite").sync(None, []) is False
    assert TextIndex(tmp_path / "text.sqlite").sync("g1", []) is True
