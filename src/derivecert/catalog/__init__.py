"""The catalog: filed descriptions, certification results and filing records (备案).

Serves §5 of DOMAIN.md (a filing number unique in the store, the filing linked to the dataset)
and the catalog the API searches.  Two backends (backends/) share every SPARQL text of
records.py:

* `EmbeddedStore`: an Oxigraph store (pyoxigraph) on disk, or in memory;
* `RemoteStore`: any SPARQL 1.1 server, through the SPARQL 1.1 Protocol (query, update) and the
  Graph Store Protocol (bulk load, export): Oxigraph server, Virtuoso (`store.dialect =
  "virtuoso"`: what it does differently is one `Dialect`, its atomic writes `virtuoso_sql`), Apache
  Jena Fuseki, GraphDB...
  The server should answer queries over the union of its named graphs by default
  (``oxigraph serve --union-default-graph``, Fuseki ``tdb2:unionDefaultGraph true``); the
  store's own queries name their graphs, so only users' SPARQL depends on it.

Layout, one named graph per institution (``https://w3id.org/derivecert/graph/<institution>``)
holding, for each certified or conditional dataset:

* the description as filed (blank nodes skolemised to ``.../.well-known/genid/...`` IRIs, so that
  they can be deleted precisely later);
* the engine's result nodes and filing record (stored once: moved into the ledger graph when the
  dataset is filed again or withdrawn, `ledger`);
* a ``dcat:CatalogRecord`` (``https://w3id.org/derivecert/record/<key>``): the key, the
  institution, the filing number, the dates, the facet summary as JSON (what the
  index is rebuilt from), a lower-cased search text, the §6 JSON, ``idx:part`` links to the
  subjects the submission contributed for that dataset that another record may also list, and one
  ``idx:owned`` literal listing those only it can own (the IRIs the node minted for it).

Replacing a dataset is one SPARQL UPDATE request (one transaction) on the institution's graph
and the ledger: move the old filing into the ledger, delete the subjects only the old record
owned, delete the old record, insert the new description, result, filing and record.  Subjects
shared by several records (an agent, a source described in several submissions) stay while any
record lists them; their triples are the union of what the live submissions said.

Trust (issue 8): the store's query texts are constants and values are bound as terms
(`sparql_term` is the only way a value enters SPARQL text); a submission may not use the node's
own IRI space or the engine's output vocabulary (`check_description`); the index accepts a
record only in the graph of the institution it names (`valid_summary`); and a dataset IRI, or a
look-alike of it (`iri_lookalike_form`), belongs to the institution that filed it first.

Search does not run SPARQL: `FacetIndex` keeps the facet summary of every record as bitsets
(Python ints), so facet counts at 100,000 datasets take milliseconds.  The same search is
also written in SPARQL (`sparql_search`, reading the classification from the result nodes) for
peers that are plain SPARQL endpoints holding a DeriveCert catalog, and the two are tested to agree.

Modules: `model` (IRIs, the dimension table, record summaries), `submission` (what a run
writes), `records` (the record layout's SPARQL texts), `index` (the bitset search index),
`indexfile` (the index kept beside an embedded store, consistent with its generation), `search`
(queries, and the same search in SPARQL), `items` (the JSON item and facet model the API and
federation share), `sparql` (values in SPARQL text), `ledger` (filing
ledger), `errors`, `service` (`Catalog`: the index, lock, generation and transactions over a
backend; the submit use case) and `backends/` (storage primitives only: `base`, `oxigraph`,
`remote`, `virtuoso_sql`, `querypool`, `registry`); `text` (the zh/en full-text index beside the
search index) and `bulk` (`derivecert load` and the batch endpoint: many documents certified in
bounded workers, each filed through the same use case).
"""

from .backends import CatalogStore, EmbeddedStore, QueryOutcome, RemoteStore, open_store, register
from .errors import ConflictError, QueryRejected, QueryTimeout, ReservedTermError, StoreError, SubmissionRefused
from .ledger import FILINGS_GRAPH, filing_node
from .model import (
                    CATALOG,
                    CODED,
                    DCAT,
                    DCT,
                    DIMENSIONS,
                    FOAF,
                    GENID_BASE,
                    GRAPH_BASE,
                    IDX,
                    META_GRAPH,
                    PREFIXES,
                    RDF_JSON,
                    RDF_TYPE,
                    RECORD_BASE,
                    STORABLE_VERDICTS,
                    XSD,
                    RecordSummary,
                    classification_to_codes,
                    code_of,
                    codes_to_classification,
                    dataset_key,
                    graph_iri,
                    institution_of_graph,
                    iri_lookalike_form,
                    is_institution_id,
                    is_key,
                    record_iri,
)
from .search import SearchQuery, SearchResult, parse_sparql_search, sparql_search
from .service import Catalog, FilingOutcome, file_submission, open_catalog
from .sparql import insert_data, sparql_iri, sparql_literal, sparql_term, update_text, values_clause
from .submission import Submission, build_submission, check_description, reserved_terms

__all__ = [
    "CATALOG", "CODED", "DCAT", "DCT", "DIMENSIONS", "FILINGS_GRAPH", "FOAF", "GENID_BASE", "GRAPH_BASE", "IDX",
    "META_GRAPH", "PREFIXES", "RDF_JSON", "RDF_TYPE", "RECORD_BASE", "STORABLE_VERDICTS", "XSD",
    "Catalog", "CatalogStore", "ConflictError", "EmbeddedStore", "FilingOutcome", "QueryOutcome", "QueryRejected", "QueryTimeout", "RecordSummary",
    "RemoteStore", "ReservedTermError", "SearchQuery", "SearchResult", "StoreError", "Submission", "SubmissionRefused",
    "build_submission", "check_description", "classification_to_codes", "code_of", "codes_to_classification",
    "dataset_key", "file_submission", "filing_node", "graph_iri", "institution_of_graph", "iri_lookalike_form", "is_institution_id",
    "is_key", "open_catalog", "open_store", "parse_sparql_search", "record_iri", "register", "reserved_terms", "sparql_iri",
    "sparql_literal", "sparql_search", "sparql_term", "values_clause", "insert_data", "update_text",
]
