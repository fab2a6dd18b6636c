"""Property: the in-memory facet index and the same search written in SPARQL agree on any
catalog and any query (totals, facet counts, page order)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derivecert.catalog import Catalog, EmbeddedStore, SearchQuery, build_submission

from .fakes import fake_run

SCEN = ["AS-PH", "AS-RES", "AS-AI", "AS-EMERG"]
LEVELS = ["L1", "L2", "L3", "L4"]
INSTS = ["hospital-a", "hospital-b", "cdc-east"]
WORDS = ["influenza", "cohort", "影像", "stage"]

record = st.fixed_dictionaries({
    "scenario": st.lists(st.sampled_from(SCEN), min_size=1, max_size=2, unique=True),
    "level": st.sampled_from(LEVELS),
    "inst": st.sampled_from(INSTS),
    "verdict": st.sampled_from(["certified", "conditional"]),
    "depth": st.sampled_from(["primary", "secondary"]),
    "word": st.sampled_from(WORDS),
})
query = st.builds(
    lambda scen, lev, inst, verdict, depth, text, offset, limit, sort: SearchQuery(
        filters={k: v for k, v in {"scenario": scen, "level": lev, "institution": inst, "verdict": verdict,
                                    "depth": depth}.items() if v},
        text=text, offset=offset, limit=limit, sort=sort),
    st.lists(st.sampled_from(SCEN), max_size=2, unique=True),
    st.lists(st.sampled_from(LEVELS), max_size=2, unique=True),
    st.lists(st.sampled_from(INSTS), max_size=2, unique=True),
    st.lists(st.sampled_from(["certified", "conditional"]), max_size=1),
    st.lists(st.sampled_from(["primary", "secondary"]), max_size=2, unique=True),
    st.sampled_from(["", "influenza", "COHORT", "影像", "stage cohort"]),
    st.integers(0, 3), st.integers(1, 5), st.sampled_from(["-modified", "modified"]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(record, min_size=0, max_size=8), st.lists(query, min_size=1, max_size=4))
def test_index_and_sparql_search_agree(records, queries):
    store = Catalog(EmbeddedStore(None))
    try:
        subs = []
        for i, r in enumerate(records):
            g, rg, results = fake_run(f"https://p.example.org/ds/{i}", title=f"Dataset {i} {r['word']}",
                                      scenario=r["scenario"], level=r["level"], verdict=r["verdict"], depth=r["depth"],
                                      filing=f"DC-20250101-P{i:07d}")
            subs.append(build_submission(r["inst"], g, rg, results))
        store.bulk_add(subs)
        for q in queries:
            a, b = store.search(q), store.search_sparql(q)
            assert a.total == b.total
            assert {k: v for k, v in a.facets.items() if v} == {k: v for k, v in b.facets.items() if v}
            assert [e.key for e in a.items] == [e.key for e in b.items]
    finally:
        store.close()
