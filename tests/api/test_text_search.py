"""Ranked text search in Chinese and English, with facets (issue 15), on both backends; the
text index persisted beside an embedded store and rebuilt when it does not match the store."""

from __future__ import annotations

import sqlite3

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS

from derivecert.catalog import Catalog, EmbeddedStore, SearchQuery, build_submission
from derivecert.catalog.index import FacetIndex
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
    assert text.sync(None, FacetIndex()) is True
    assert text.sync(None, FacetIndex()) is False
    text.close()
    assert TextIndex(tmp_path / "text.sqlite").sync(None, FacetIndex()) is False
    assert TextIndex(tmp_path / "text.sqlite").sync("g1", FacetIndex()) is True


MORE = [
    # more records with the fixture's words: ties (same texts) and a tail filed after the ranking
    ("flu-2", "Influenza surveillance counts", "流感监测周报", "Weekly counts by district", "AS-RES"),
    ("flu-3", "Influenza vaccination", "流感疫苗接种", "Influenza doses by district and influenza season", "AS-PH"),
    ("t2d-2", "Diabetes registry", "糖尿病登记", "Type 2 diabetes cohort", "AS-AI"),
]
QUERIES = ["influenza", "流感", "diabetes", "糖尿病", "district counts", "cohorts", "糖", "weekly influenza", "by"]


def outcomes(store):
    """Every query's total, facets and relevance pages (with a filter, and paged by one)."""
    out = {}
    for q in QUERIES:
        for filters in ({}, {"scenario": ["AS-PH"]}):
            whole = store.search(SearchQuery(text=q, filters=filters, sort="relevance"))
            pages = [store.search(SearchQuery(text=q, filters=filters, sort="relevance", offset=k, limit=1)).items
                     for k in range(whole.total)]
            out[q, str(filters)] = (whole.total, whole.facets, [e.key for e in whole.items], [e.key for p in pages for e in p])
    return out


def test_frequent_words_find_and_rank_what_fts5_finds_and_ranks(tmp_path):
    """With every word "frequent" (its match set and BM25 order kept, records filed since merged
    in) a search answers as FTS5 alone does: totals, facet counts, relevance order and pages."""
    plain = Catalog(EmbeddedStore(tmp_path / "plain", query_processes=0))
    frequent = Catalog(EmbeddedStore(tmp_path / "frequent", query_processes=0))
    frequent.text.frequent_at = 1
    for store in (plain, frequent):
        for record in RECORDS + MORE:
            file(store, *record)
            store.text.settle()  # the ranking a write starts runs in the background
    assert frequent.text._watermark > 0  # ranked after the first records; the last ones are its tail
    assert frequent.text._watermark < len(frequent.index.entries)
    assert plain.text._db.execute("SELECT count(*) FROM frequent").fetchone()[0] == 0
    expected = outcomes(plain)
    assert outcomes(frequent) == expected
    assert expected["influenza", "{}"][0] == 4 and expected["influenza", "{'scenario': ['AS-PH']}"][0] == 2
    file(frequent, "flu-3", "Hospital beds", "住院床位", "No longer about it", "AS-PH")  # replaced: its old row leaves
    file(plain, "flu-3", "Hospital beds", "住院床位", "No longer about it", "AS-PH")
    assert outcomes(frequent) == outcomes(plain)
    ranked = frequent.text._watermark
    for n in range(4):  # enough records since to rank again: the answers are the same meanwhile and after
        for store in (plain, frequent):
            file(store, f"flu-more-{n}", "Influenza surveillance counts", "流感监测周报", "Weekly counts", "AS-PH")
        assert outcomes(frequent) == outcomes(plain)
    frequent.text.settle()
    assert ranked < frequent.text._watermark <= len(frequent.index.entries)
    assert outcomes(frequent) == outcomes(plain)
    for store in (plain, frequent):
        store.close()


def test_ties_in_relevance_come_newest_first(filled):
    # the same texts as "flu" (its IRI too has as many words): the same BM25 score, filed later
    file(filled, "flu0", "Influenza surveillance counts", "流感监测周报", "Weekly counts by district", "AS-RES")
    assert names(filled, "流感") == ["flu0", "flu"]


def test_the_text_index_follows_the_facet_index_numbering(tmp_path):
    """Rows are facet-index ordinals: an index numbered otherwise (rebuilt, compacted) has the
    text index rebuilt, even at the same store generation; appends keep it."""
    from derivecert.catalog import RecordSummary

    def record(n: int, title: str) -> RecordSummary:
        return RecordSummary(key=f"{n:016x}", dataset=f"{BASE}{n}", institution="a", verdict="certified",
                             modified=f"2026-01-01T00:00:0{n}Z", issued="2026-01-01", title={"en": title},
                             codes={}, filing=None, text=title.casefold())

    index = FacetIndex()
    index.add_many([record(1, "influenza"), record(2, "diabetes")])
    text = TextIndex(tmp_path / "text.sqlite")
    assert text.sync("g1", index) is True and text.sync("g1", index) is False
    index.add(record(3, "influenza counts"))
    text.update(index, [record(3, "influenza counts")], "g2")
    assert text.sync("g2", index) is False  # appended: the same numbering, extended
    match = text.search("influenza")
    assert sorted(index._ordinals(match.mask)) == [0, 2]

    other = FacetIndex()  # the same records numbered otherwise: ordinal 0 is no longer "influenza"
    other.add_many([record(3, "influenza counts")])
    other.add(record(2, "diabetes"))
    assert text.sync("g2", other) is True
    assert [other._live(i).key for i in text.search("influenza").top(other.live, 10)] == [f"{3:016x}"]
    text.close()


def test_a_match_ranked_again_by_a_write_since_is_ranked_by_fts5(tmp_path):
    """A search matched before a write ranked the frequent words again (their rows replaced)
    still gets its page, from FTS5, in the same order."""
    store = Catalog(EmbeddedStore(tmp_path / "store", query_processes=0))
    store.text.frequent_at = 1
    for record in RECORDS + MORE:
        file(store, *record)
    store.text.settle()
    with store.text._lock, store.text._db:
        store.text._rank_frequent(len(store.index.entries))
    store.text._state()
    match = store.text.search("influenza")
    expected = match.top(store.index.live, 10)
    with store.text._lock, store.text._db:
        store.text._rank_frequent(len(store.index.entries))
    store.text._state()
    assert match.top(store.index.live, 10) == expected and len(expected) == 4
    store.close()
